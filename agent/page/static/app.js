// The staff page: manual orders on the point's own box. Everything is served by the box, so it
// works with no internet. Text from the menu or orders is only ever set as textContent.
import { LANGUAGES, errorText, formatAmount, parseAmount, rememberLanguage, storedLanguage, translatePage, translator } from './i18n.js';
import { deliverKept, keepOrder, keptOrders } from './tablet.js';

const $ = (id) => document.getElementById(id);
const DRAFT_KEY = 'hotpot.draft';
const HEALTH_EVERY_MS = 1500;
/** Central's notices reach a box within a second or two; the page asks every 3 s (5 s end to end). */
const NOTICES_EVERY_MS = 3000;
const NOTICE_RANK = { critical: 0, warning: 1, info: 2 };
const ORDERS_EVERY_MS = 4000;
const PAGE_EVERY_MS = 60_000;
const UNDO_MS = 10_000;
const MAX_QTY = 999;
/** The API's Money maximum (minor units). */
const MAX_PRICE = 1_000_000_000;

const state = {
  page: null,
  menu: { currency: 'GEL', categories: [], items: [] },
  lang: 'en',
  t: translator('en'),
  draft: null,
  saving: false,
  health: null,
  boxAnswering: true,
  orders: [],
  /** Central's current notices (GET /api/notices). */
  notices: [],
  view: 'order',
  /** The last saved order, while its message stands beside Save: {id, number, total}. */
  lastSaved: null,
  /** A cleared draft that Undo brings back, and when that offer ends. */
  cleared: null,
  /** The message beside Save is the printer's standing problem (replaced by anything else). */
  printerNotice: false,
  /** Orders kept on this tablet while the box did not answer (tablet.js), oldest first. */
  kept: [],
};

// ---------- money ----------

function currencySign() {
  const currency = state.page?.currency ?? state.menu.currency;
  return currency === 'GEL' ? '₾' : currency;
}

function money(minor) {
  return `${formatAmount(minor, state.lang)} ${currencySign()}`;
}

// ---------- HTTP ----------

/** One request to the box, with a timeout; resolves {status, data}, throws when it never answered. */
async function api(path, { method = 'GET', body, timeoutMs = 8000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: 'no-store',
      credentials: 'same-origin',
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.status === 401 && data?.code === 'login_required') location.assign('/login');
    return { status: response.status, data };
  } finally {
    clearTimeout(timer);
  }
}

// ---------- the draft (kept in localStorage so a reload loses nothing) ----------

function newRef() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function newDraft() {
  return { lines: [], payment: null, note: '', tendered: '', takenAt: '', clientRef: newRef() };
}

function isLine(line) {
  if (!line || typeof line !== 'object') return false;
  const qtyOk = typeof line.qty === 'number' || typeof line.qty === 'string';
  const menuLine = typeof line.sku === 'string';
  const openLine = typeof line.name === 'string' && Number.isInteger(line.unitPrice);
  return qtyOk && (menuLine || openLine);
}

function loadDraft() {
  try {
    const draft = JSON.parse(localStorage.getItem(DRAFT_KEY) ?? 'null');
    if (draft && Array.isArray(draft.lines) && draft.lines.every(isLine) && typeof draft.clientRef === 'string') {
      return {
        lines: draft.lines,
        payment: draft.payment === 'cash' || draft.payment === 'card' ? draft.payment : null,
        note: typeof draft.note === 'string' ? draft.note : '',
        tendered: typeof draft.tendered === 'string' ? draft.tendered : '',
        takenAt: typeof draft.takenAt === 'string' ? draft.takenAt : '',
        clientRef: draft.clientRef,
      };
    }
  } catch {
    // a broken draft is dropped
  }
  return newDraft();
}

function storeDraft() {
  try {
    localStorage.setItem(DRAFT_KEY, JSON.stringify(state.draft));
  } catch {
    // storage full or blocked: the order still works, only a reload would lose it
  }
}

function menuItem(sku) {
  return state.menu.items.find((item) => item.sku === sku);
}

function lineName(line) {
  if (line.sku === undefined) return line.name;
  const item = menuItem(line.sku);
  return item ? item.name[state.lang] ?? item.name.en : line.sku;
}

function linePrice(line) {
  return line.sku === undefined ? line.unitPrice : menuItem(line.sku)?.price ?? 0;
}

/** The quantity as a whole number 1..999, or null. */
function validQty(qty) {
  const text = String(qty).trim();
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_QTY ? n : null;
}

function draftTotal() {
  return state.draft.lines.reduce((sum, line) => sum + (validQty(line.qty) ?? 0) * linePrice(line), 0);
}

function changed() {
  storeDraft();
  renderTotal();
}

/** The first item of a new order: the last order's "Saved" and any Undo offer are over. */
function startingNewOrder() {
  if (state.draft.lines.length === 0 && (state.lastSaved || state.cleared)) {
    state.lastSaved = null;
    state.cleared = null;
    showMessage('', '');
  }
}

function addMenuItem(sku) {
  startingNewOrder();
  const line = state.draft.lines.find((l) => l.sku === sku);
  if (line) line.qty = Math.min(MAX_QTY, (validQty(line.qty) ?? 0) + 1);
  else state.draft.lines.push({ sku, qty: 1 });
  renderLines();
  changed();
  // The line just touched comes into view in the order pane.
  const index = state.draft.lines.findIndex((l) => l.sku === sku);
  document.querySelector(`#lines li:nth-child(${index + 1})`)?.scrollIntoView({ block: 'nearest' });
}

function addOpenItem() {
  const name = $('open-name').value.trim();
  const unitPrice = parseAmount($('open-price').value, MAX_PRICE);
  if (!name) return showMessage('error', state.t('err.openName'), $('open-name'));
  if (unitPrice === null) return showMessage('error', state.t('err.openPrice', { example: formatAmount(1250, state.lang), max: money(MAX_PRICE) }), $('open-price'));
  startingNewOrder();
  state.draft.lines.push({ name, unitPrice, qty: 1 });
  $('open-name').value = '';
  $('open-price').value = '';
  showMessage('', '');
  renderLines();
  changed();
  $('open-name').focus();
}

function stepLine(index, delta) {
  const line = state.draft.lines[index];
  const next = (validQty(line.qty) ?? 1) + delta;
  if (next < 1) state.draft.lines.splice(index, 1);
  else line.qty = Math.min(MAX_QTY, next);
  renderLines();
  changed();
}

function clearOrder() {
  if (state.draft.lines.length === 0 && !state.draft.note) return;
  state.cleared = { draft: state.draft, until: Date.now() + UNDO_MS };
  state.draft = newDraft();
  storeDraft();
  renderDraftFields();
  const undo = el('button', { type: 'button', class: 'undo secondary', text: state.t('clear.undo'), onclick: undoClear });
  showMessage('warn', state.t('clear.done'), undefined, undo);
  const offer = state.cleared;
  setTimeout(() => {
    if (state.cleared === offer) {
      state.cleared = null;
      showMessage('', '');
    }
  }, UNDO_MS);
}

function undoClear() {
  if (!state.cleared) return;
  state.draft = state.cleared.draft;
  state.cleared = null;
  storeDraft();
  renderDraftFields();
  showMessage('', '');
}

// ---------- rendering ----------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

function renderMenu() {
  const root = $('menu');
  const cats = $('cats');
  root.replaceChildren();
  cats.replaceChildren();
  $('menu-empty').hidden = state.menu.items.length > 0;
  const jump = (target, button) => {
    target.scrollIntoView({ block: 'start' });
    for (const other of cats.querySelectorAll('button')) other.setAttribute('aria-current', String(other === button));
  };
  for (const category of state.menu.categories) {
    const items = state.menu.items.filter((item) => item.category === category.id);
    if (!items.length) continue;
    const headingId = `cat-${category.id}`;
    const grid = el('div', { class: 'grid' });
    for (const item of items) {
      const name = item.name[state.lang] ?? item.name.en;
      grid.append(
        el(
          'button',
          { type: 'button', class: 'item', 'data-sku': item.sku, onclick: () => addMenuItem(item.sku) },
          el('span', { class: 'item-name', text: name }),
          el('span', { class: 'item-price', text: money(item.price) }),
        ),
      );
    }
    const label = category.name[state.lang] ?? category.name.en;
    const section = el('section', { class: 'category', 'aria-labelledby': headingId }, el('h3', { id: headingId, text: label }), grid);
    root.append(section);
    const tab = el('button', { type: 'button', 'data-category': category.id, text: label, 'aria-current': 'false' });
    tab.addEventListener('click', () => jump(section, tab));
    cats.append(tab);
  }
  const openTab = el('button', { type: 'button', 'data-category': 'open', text: state.t('open.legend'), 'aria-current': 'false' });
  openTab.addEventListener('click', () => jump($('open-item'), openTab));
  cats.append(openTab);
}

function renderLines() {
  const focusKey = document.activeElement?.dataset?.focusKey;
  const list = $('lines');
  list.replaceChildren();
  $('ticket-empty').hidden = state.draft.lines.length > 0;
  state.draft.lines.forEach((line, index) => {
    const name = lineName(line);
    const qty = el('input', {
      type: 'text',
      inputmode: 'numeric',
      class: 'qty',
      value: String(line.qty),
      'aria-label': state.t('line.qty', { name }),
      'data-focus-key': `qty-${index}`,
      oninput: (event) => {
        line.qty = event.target.value;
        const valid = validQty(line.qty);
        event.target.setAttribute('aria-invalid', String(valid === null));
        lineTotal.textContent = valid === null ? '—' : money(valid * linePrice(line));
        changed();
      },
    });
    const valid = validQty(line.qty);
    if (valid === null) qty.setAttribute('aria-invalid', 'true');
    const lineTotal = el('span', { class: 'line-total', text: valid === null ? '—' : money(valid * linePrice(line)) });
    list.append(
      el(
        'li',
        { class: 'line' },
        el('span', { class: 'line-name' }, el('span', { text: name }), el('small', { text: state.t('line.each', { price: money(linePrice(line)) }) })),
        lineTotal,
        el(
          'span',
          { class: 'stepper' },
          el('button', { type: 'button', class: 'step', text: '−', 'aria-label': state.t('line.less', { name }), 'data-focus-key': `less-${index}`, onclick: () => stepLine(index, -1) }),
          qty,
          el('button', { type: 'button', class: 'step', text: '+', 'aria-label': state.t('line.more', { name }), 'data-focus-key': `more-${index}`, onclick: () => stepLine(index, +1) }),
        ),
        el('button', {
          type: 'button',
          class: 'remove',
          text: '×',
          'aria-label': state.t('line.remove', { name }),
          onclick: () => {
            state.draft.lines.splice(index, 1);
            renderLines();
            changed();
            $('note').focus();
          },
        }),
      ),
    );
  });
  if (focusKey) document.querySelector(`[data-focus-key="${focusKey}"]`)?.focus();
}

function renderTotal() {
  const total = draftTotal();
  $('total').textContent = money(total);
  const cash = state.draft.payment === 'cash';
  $('tender').dataset.off = String(!cash);
  $('tendered').disabled = !cash;
  const tendered = cash ? parseAmount(state.draft.tendered, MAX_PRICE) : null;
  const enough = tendered !== null && tendered >= total && total > 0;
  $('tendered').setAttribute('aria-invalid', String(cash && state.draft.tendered.trim() !== '' && !enough));
  $('change-row').dataset.off = String(!enough);
  $('change').textContent = enough ? money(tendered - total) : '';
}

function renderDraftFields() {
  for (const radio of document.querySelectorAll('input[name="payment"]')) radio.checked = radio.value === state.draft.payment;
  $('note').value = state.draft.note;
  $('taken-at').value = state.draft.takenAt;
  $('paper').open = Boolean(state.draft.takenAt) || $('paper').open;
  $('tendered').value = state.draft.tendered;
  renderLines();
  renderTotal();
}

/** The message beside Save: kind ok / warn / error / '' (none); `extra` is a node after the text. */
function showMessage(kind, text, focus, extra) {
  // An error replaces the last "Saved": the health poll must not bring that back over it.
  if (kind === 'error') state.lastSaved = null;
  state.printerNotice = false;
  const message = $('message');
  // The same words again (the health poll re-renders) are not announced again.
  if (!extra && !focus && message.className === `message ${kind}` && message.textContent === text) return;
  message.className = `message ${kind}`;
  message.replaceChildren(...(text ? [el('span', { text })] : []), ...(extra ? [extra] : []));
  if (focus) focus.focus();
}

/** Why the receipt printer cannot print, in the page's language, or null when it can. */
function printerProblem(check) {
  const t = state.t;
  if (!state.page?.printer || !check || check.detail === 'not configured' || check.status !== 'down') return null;
  const flags = check.data ?? {};
  const reason = flags.paperEnd
    ? 'paperEnd'
    : flags.coverOpen
      ? 'coverOpen'
      : flags.cutterError
        ? 'jam'
        : flags.error || flags.recoverableError
          ? 'error'
          : flags.offline
            ? 'offline'
            : 'unreachable';
  return t(`printer.reason.${reason}`);
}

function printerText(check) {
  const t = state.t;
  if (!state.page?.printer || !check || check.detail === 'not configured') return t('printer.none');
  if (check.status === 'up') return t('printer.ok');
  if (check.status === 'degraded' && check.data?.paperNearEnd) return t('printer.low');
  return t('printer.down', { reason: printerProblem(check) ?? t('printer.reason.unreachable') });
}

function cameraText(check) {
  const t = state.t;
  if (!check || check.detail === 'not configured') return t('camera.none');
  if (check.status === 'up') return t('camera.ok');
  return check.status === 'down' ? t('camera.down') : t('camera.degraded');
}

function timeOf(ms) {
  const tz = state.page?.timeZone;
  return new Intl.DateTimeFormat(state.lang, { hour: '2-digit', minute: '2-digit', hour12: false, ...(tz ? { timeZone: tz } : {}) }).format(new Date(ms));
}

/** The most serious notice on the reserved line (the full list opens below it), in the page's language. */
function renderNotices() {
  const t = state.t;
  const notices = [...state.notices].sort((a, b) => NOTICE_RANK[a.severity] - NOTICE_RANK[b.severity] || b.since - a.since);
  const box = $('notice');
  const top = notices[0];
  box.dataset.severity = top ? top.severity : 'none';
  if (!top) box.open = false;
  $('notice-text').textContent = top ? top.text[state.lang] ?? top.text.en : t('notice.none');
  $('notice-more').textContent = notices.length > 1 ? t('notice.more', { n: notices.length - 1 }) : '';
  $('notice-list').replaceChildren(
    ...notices.map((notice) => {
      const item = document.createElement('li');
      const when = document.createElement('time');
      when.dateTime = new Date(notice.since).toISOString();
      when.textContent = timeOf(notice.since);
      item.append(when, notice.text[state.lang] ?? notice.text.en);
      return item;
    }),
  );
}

async function refreshNotices() {
  const { status, data } = await api('/api/notices', { timeoutMs: 2000 });
  if (status !== 200 || JSON.stringify(data.notices) === JSON.stringify(state.notices)) return;
  state.notices = data.notices;
  renderNotices();
}

function renderBanner() {
  const t = state.t;
  const mode = $('mode');
  const health = state.health;
  let kind = 'unknown';
  let text = t('banner.checking');
  if (!state.boxAnswering) {
    kind = 'nobox';
    text = t('banner.noBoxShort');
  } else if (health?.checks.system.data?.diskFull) {
    // Orders are refused (507) until space is freed: "saved on this box" would not be true.
    kind = 'diskfull';
    text = t('banner.diskFull');
  } else if (health) {
    kind = health.mode;
    text = health.mode === 'offline' ? t('banner.offline', { time: timeOf(health.modeSince ?? Date.now()) }) : t('banner.online');
  }
  mode.className = `mode mode-${kind}`;
  mode.textContent = text;
  mode.title = text;
  document.body.dataset.mode = kind;
  $('nobox').hidden = state.boxAnswering;
  $('nobox').textContent = state.boxAnswering ? '' : t('banner.noBox');
  const printer = health ? printerText(health.checks.printer) : '';
  $('printer-state').textContent = printer;
  $('printer-state').className = health && health.checks.printer.status !== 'up' && state.page?.printer ? 'warn' : '';
  $('camera-state').textContent = health ? cameraText(health.checks.camera) : '';
  $('camera-state').className = health && health.checks.camera.status !== 'up' ? 'warn' : '';
  const unsynced = health?.unsynced ?? 0;
  const conflicts = health?.conflicts ?? 0;
  $('unsynced-state').textContent = !health ? '' : conflicts ? t('unsynced.conflicts', { n: conflicts }) : unsynced ? t('unsynced.some', { n: unsynced }) : t('unsynced.none');
  $('unsynced-state').className = unsynced || conflicts ? 'warn' : '';
  renderSavedMessage();
  renderPrinterNotice(health ? printerProblem(health.checks.printer) : null);
}

/** While nothing else is said beside Save, a printer that cannot print is (the banner hides it on phones). */
function renderPrinterNotice(problem) {
  if (state.lastSaved || state.cleared) return;
  const free = state.printerNotice || $('message').textContent === '';
  if (!free) return;
  if (problem) {
    showMessage('warn', state.t('printer.problem', { reason: problem }));
    state.printerNotice = true;
  } else if (state.printerNotice) {
    showMessage('', '');
  }
}

/** "Saved № …", and what became of its receipt, while the cashier has not started the next order. */
function renderSavedMessage() {
  const saved = state.lastSaved;
  if (!saved) return;
  const t = state.t;
  const order = state.orders.find((o) => o.id === saved.id);
  const printed = order?.printed ?? saved.printed;
  const head = saved.before ? t('savedBefore', { number: saved.number, total: money(saved.total) }) : t('saved', { number: saved.number });
  if (!state.page?.printer || printed) return showMessage('ok', printed ? `${head} · ${t('receipt.printedNow')}` : head);
  const problem = printerProblem(state.health?.checks.printer) ?? (state.health?.paper?.receipt ? t('printer.reason.unreachable') : null);
  if (problem) return showMessage('warn', `${head} · ${t('receipt.waits', { reason: problem })}`);
  showMessage('ok', `${head} · ${t('receipt.printing')}`);
}

/** pending, synced, or conflict: central holds other content under this order's id (never synced). */
function syncOf(order) {
  return order.sync === 'conflict' ? 'conflict' : order.syncedAt === null ? 'pending' : 'synced';
}

function renderOrders() {
  const t = state.t;
  const body = $('orders');
  body.replaceChildren();
  $('today-empty').hidden = state.orders.length > 0;
  $('orders-table').hidden = state.orders.length === 0;
  $('today-count').textContent = String(state.orders.length);
  $('today-count').setAttribute('aria-label', t('today.count', { n: state.orders.length }));
  const cell = (key, props, ...children) => el('td', { 'data-label': t(key), ...props }, ...children);
  for (const order of state.orders) {
    const receipt = !state.page?.printer ? t('receipt.none') : order.printed ? t('receipt.printed') : t('receipt.queued');
    body.append(
      el(
        'tr',
        {
          'data-order-id': order.id,
          'data-sync': syncOf(order),
          class: order.voidedAt ? 'voided' : '',
          tabindex: '0',
          onclick: (event) => {
            if (!event.target.closest('button')) openOrder(order.id);
          },
          onkeydown: (event) => {
            if (event.key === 'Enter' && event.target === event.currentTarget) openOrder(order.id);
          },
        },
        cell('col.number', { class: 'number', text: order.number }),
        cell('col.time', { class: 'time', text: timeOf(order.createdAt) }),
        cell('col.total', { class: 'money', text: money(order.total) }),
        cell('col.payment', { class: 'payment-cell', text: t(`payment.${order.payment}`) }),
        cell('col.sync', { class: `sync ${syncOf(order)}`, text: t(`sync.${syncOf(order)}`) }),
        cell('col.receipt', { class: 'receipt', text: receipt }),
        cell('col.note', { class: 'note', text: order.voidedAt ? t('void.mark', { reason: order.voidReason }) : order.note ?? '' }),
        cell(
          'col.actions',
          { class: 'actions' },
          el('button', {
            type: 'button',
            class: 'danger',
            text: t('void'),
            'aria-label': t('void.label', { number: order.number }),
            hidden: Boolean(order.voidedAt),
            onclick: () => voidOrder(order),
          }),
          el('button', {
            type: 'button',
            class: 'secondary',
            text: t('reprint'),
            'aria-label': t('reprint.label', { number: order.number }),
            disabled: !state.page?.printer,
            onclick: () => void reprint(order),
          }),
        ),
      ),
    );
  }
}

function renderView() {
  for (const panel of document.querySelectorAll('[data-view-panel]')) panel.hidden = panel.dataset.viewPanel !== state.view;
  for (const button of document.querySelectorAll('[data-view]')) button.setAttribute('aria-pressed', String(button.dataset.view === state.view));
}

function showView(view) {
  state.view = view;
  renderView();
  if (view === 'today') void refreshOrders().catch(() => undefined);
  if (view === 'till') renderManager();
}

function renderAll() {
  translatePage(document, state.t, state.lang);
  $('open-price-label').textContent = state.t('open.price', { currency: currencySign() });
  $('paper-hint').textContent = state.t('paper.hint', { minutes: state.page?.limits?.lateEntryMinutes ?? 15 });
  $('logout').hidden = !state.page?.login;
  $('lang').value = state.lang;
  renderView();
  renderMenu();
  renderLines();
  renderTotal();
  renderOrders();
  renderBanner();
  renderNotices();
  renderKept();
}

function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  state.lang = lang;
  state.t = translator(lang);
  rememberLanguage(lang);
  renderAll();
}

// ---------- saving ----------

function requestBody(managerPin) {
  return {
    items: state.draft.lines.map((line) =>
      line.sku === undefined ? { name: line.name, unitPrice: line.unitPrice, qty: validQty(line.qty) } : { sku: line.sku, qty: validQty(line.qty) },
    ),
    payment: state.draft.payment,
    ...(state.draft.note.trim() ? { note: state.draft.note.trim() } : {}),
    clientRef: state.draft.clientRef,
    ...(paperTime() === null ? {} : { takenAt: paperTime() }),
    ...(managerPin === undefined ? {} : { managerPin }),
  };
}

/** A paper order's time (the picker's local time, ms since the epoch), or null for an order taken now. */
function paperTime() {
  if (!state.draft.takenAt) return null;
  const ms = new Date(state.draft.takenAt).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** What is wrong with the draft before it goes to the box, or null. */
function draftProblem() {
  const t = state.t;
  if (!state.draft.lines.length) return { text: t('err.empty') };
  const badIndex = state.draft.lines.findIndex((line) => validQty(line.qty) === null);
  if (badIndex >= 0) return { text: t('err.qty', { name: lineName(state.draft.lines[badIndex]) }), focus: document.querySelector(`[data-focus-key="qty-${badIndex}"]`) };
  if (!state.draft.payment) return { text: t('err.payment'), focus: document.querySelector('input[name="payment"]') };
  if (state.draft.takenAt && paperTime() === null) return { text: t('err.takenAt'), focus: $('taken-at') };
  return null;
}

function askManagerPin(reason, wrong) {
  const dialog = $('pin-dialog');
  $('pin-reason').textContent = reason;
  $('pin-error').textContent = wrong ? state.t('pin.wrong') : '';
  $('pin-input').value = '';
  return new Promise((resolve) => {
    const finish = (pin) => {
      $('pin-form').onsubmit = null;
      $('pin-cancel').onclick = null;
      dialog.oncancel = null;
      dialog.close();
      resolve(pin);
    };
    $('pin-form').onsubmit = (event) => {
      event.preventDefault();
      finish($('pin-input').value);
    };
    $('pin-cancel').onclick = () => finish(null);
    dialog.oncancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    dialog.showModal();
    $('pin-input').focus();
  });
}

function limitReason(data) {
  if (typeof data.ageMinutes === 'number') return state.t('pin.reason.late', { minutes: data.ageMinutes });
  const params = { amount: money(data.amount ?? 0), max: money(data.max ?? 0) };
  return data.limit === 'maxOfflineTotal' ? state.t('pin.reason.maxOfflineTotal', params) : state.t('pin.reason.maxOrderTotal', params);
}

async function save() {
  if (state.saving) return; // a double tap: the first tap's request is already on its way
  const problem = draftProblem();
  if (problem) return showMessage('error', problem.text, problem.focus);
  state.saving = true;
  $('save').disabled = true;
  $('save').textContent = state.t('saving');
  $('save').setAttribute('aria-busy', 'true');
  try {
    await submitDraft();
  } finally {
    state.saving = false;
    $('save').disabled = false;
    $('save').textContent = state.t('save');
    $('save').removeAttribute('aria-busy');
  }
}

/** The box does not answer: the order waits on this tablet under its own number, and goes when the box is back. */
async function keepOnTablet() {
  const t = state.t;
  if (!state.page) return showMessage('error', t('err.network'));
  const body = requestBody();
  let order;
  try {
    order = await keepOrder(state.page.pointId, body, draftTotal());
  } catch {
    return showMessage('error', t('err.network'));
  }
  state.lastSaved = null;
  state.cleared = null;
  state.draft = newDraft();
  storeDraft();
  renderDraftFields();
  showMessage('ok', t('tablet.kept', { number: order.number }));
  await refreshKept();
}

async function refreshKept() {
  state.kept = await keptOrders();
  renderKept();
}

function renderKept() {
  const t = state.t;
  const list = $('kept-list');
  list.replaceChildren(
    ...state.kept.map((order) => {
      const status = order.state === 'waiting' ? t('tablet.waiting') : order.state === 'delivered' ? t('tablet.delivered') : t('tablet.refused', { reason: order.reason ?? '' });
      return el(
        'li',
        { 'data-number': order.number, 'data-state': order.state, class: `kept-${order.state}` },
        el('span', { class: 'kept-number', text: `№ ${order.number}` }),
        el('span', { text: `${timeOf(order.body.takenAt)} · ${money(order.total)}` }),
        el('span', { class: 'kept-state', text: status }),
      );
    }),
  );
  $('kept').hidden = state.kept.length === 0;
}

/** Each order waiting on this tablet goes to the box once (its clientRef), with the time it was taken. */
async function deliverNow() {
  if (!state.kept.some((order) => order.state === 'waiting')) return;
  const post = (body) => api('/api/orders', { method: 'POST', body, timeoutMs: 15_000 });
  if (await deliverKept(post, (status, data) => errorText(state.t, status, data, state.lang))) {
    await refreshKept();
    void refreshOrders().catch(() => undefined);
  }
}

async function submitDraft() {
  const t = state.t;
  const total = draftTotal();
  let managerPin;
  // The reason the manager is asked keeps the amounts of the first refusal, whatever a wrong PIN answers.
  let reason;
  for (;;) {
    let result;
    try {
      // The box is asked first even when a health check missed: it is the one that numbers orders. Known away, not for long.
      result = await api('/api/orders', { method: 'POST', body: requestBody(managerPin), timeoutMs: state.boxAnswering ? 15_000 : 4000 });
    } catch {
      // Unknown outcome: the order waits on the tablet with the same clientRef, so the box cannot save it twice.
      state.boxAnswering = false;
      renderBanner();
      return keepOnTablet();
    }
    const { status, data } = result;
    if (status === 201 || status === 200) {
      const before = status === 200 && data.total !== total;
      state.lastSaved = { id: data.id, number: data.number, total: data.total, printed: data.printed, before };
      state.cleared = null;
      state.draft = newDraft();
      storeDraft();
      renderDraftFields();
      renderSavedMessage();
      void refreshOrders().catch(() => undefined);
      void readHealth();
      return;
    }
    if (status === 403 && (data?.code === 'manager_pin_required' || data?.code === 'manager_pin_wrong')) {
      reason ??= limitReason(data);
      managerPin = await askManagerPin(reason, data.code === 'manager_pin_wrong');
      if (managerPin === null) return showMessage('error', t('err.pinCancelled'));
      continue;
    }
    // The banner says so too (and keeps saying it) until the box has space again.
    if (data?.code === 'disk_full') void readHealth();
    return showMessage('error', errorText(t, status, data, state.lang));
  }
}

async function reprint(order) {
  const t = state.t;
  const message = $('reprint-message');
  try {
    const { status, data } = await api(`/api/orders/${encodeURIComponent(order.id)}/reprint`, { method: 'POST' });
    message.textContent = status === 202 ? t('reprint.queued', { number: order.number }) : t('reprint.failed', { detail: errorText(t, status, data, state.lang) });
  } catch {
    message.textContent = t('reprint.failed', { detail: t('banner.noBoxShort') });
  }
  await refreshOrders().catch(() => undefined);
}

// ---------- an order's detail, and voiding it ----------

/** The order's detail (a tap on its row): what it was, whether it is voided and why; Void and Reprint. */
function openOrder(id) {
  const order = state.orders.find((o) => o.id === id);
  if (!order) return;
  const t = state.t;
  const dialog = $('order-dialog');
  $('order-title').textContent = t('order.title', { number: order.number });
  $('order-voided').hidden = !order.voidedAt;
  $('order-voided').textContent = order.voidedAt ? `${t('void.mark', { reason: order.voidReason })} · ${timeOf(order.voidedAt)}` : '';
  const fact = (key, value) => [el('dt', { text: t(key) }), el('dd', { text: value })];
  $('order-facts').replaceChildren(
    ...fact('col.time', timeOf(order.createdAt)),
    ...fact('col.total', money(order.total)),
    ...fact('col.payment', t(`payment.${order.payment}`)),
    ...(order.note ? fact('col.note', order.note) : []),
  );
  $('order-items').replaceChildren(...order.items.map((item) => el('li', { text: `${item.qty} × ${item.name} · ${money(item.unitPrice * item.qty)}` })));
  $('order-void').hidden = Boolean(order.voidedAt);
  $('order-void').onclick = () => {
    dialog.close();
    voidOrder(order);
  };
  $('order-reprint').disabled = !state.page?.printer;
  $('order-reprint').onclick = () => {
    dialog.close();
    void reprint(order);
  };
  dialog.showModal();
}

/** Asks the reason (and the manager PIN once the box says the order is too old for staff alone), then voids. */
function voidOrder(order) {
  const t = state.t;
  const dialog = $('void-dialog');
  const pinParts = [$('void-pin-why'), $('void-pin-label'), $('void-pin')];
  $('void-title').textContent = t('void.title', { number: order.number });
  $('void-reason').value = '';
  $('void-pin').value = '';
  $('void-error').textContent = '';
  for (const part of pinParts) part.hidden = true;
  let pinNeeded = false;
  let busy = false;
  const close = () => {
    $('void-form').onsubmit = null;
    $('void-cancel').onclick = null;
    dialog.close();
  };
  $('void-cancel').onclick = close;
  $('void-form').onsubmit = async (event) => {
    event.preventDefault();
    if (busy) return;
    const reason = $('void-reason').value.trim();
    if (!reason) {
      $('void-error').textContent = t('void.reasonMissing');
      return $('void-reason').focus();
    }
    busy = true;
    $('void-ok').disabled = true;
    try {
      const body = { reason, ...(pinNeeded ? { managerPin: $('void-pin').value } : {}) };
      const { status, data } = await api(`/api/orders/${encodeURIComponent(order.id)}/void`, { method: 'POST', body });
      if (status === 201 || status === 200) {
        close();
        $('reprint-message').textContent = t('void.done', { number: order.number });
        await refreshOrders().catch(() => undefined);
        return;
      }
      if (status === 403 && (data?.code === 'manager_pin_required' || data?.code === 'manager_pin_wrong')) {
        pinNeeded = true;
        for (const part of pinParts) part.hidden = false;
        $('void-pin-why').textContent = t('void.pinWhy', { minutes: state.page?.limits?.voidWithoutPinMinutes ?? 5 });
        $('void-error').textContent = data.code === 'manager_pin_wrong' ? t('pin.wrong') : t('pin.enter');
        $('void-pin').value = '';
        return $('void-pin').focus();
      }
      // The order's disk-full words say "Save & print"; a void has its own.
      $('void-error').textContent = data?.code === 'disk_full' ? t('void.diskFull') : errorText(t, status, data, state.lang);
    } catch {
      $('void-error').textContent = t('err.network');
    } finally {
      busy = false;
      $('void-ok').disabled = false;
    }
  };
  dialog.showModal();
  $('void-reason').focus();
}

// ---------- the manager's actions (behind the manager PIN) ----------

/** Whether staff hold the point offline by hand (a lost link alone does not count). */
function heldOffline() {
  return Boolean(state.health?.forcedOffline?.includes('staff'));
}

function renderManager() {
  const t = state.t;
  const offline = state.health?.mode === 'offline';
  $('manager-mode').textContent = state.health ? (offline ? t('banner.offline', { time: timeOf(state.health.modeSince ?? Date.now()) }) : t('banner.online')) : '';
  $('mode-toggle').textContent = heldOffline() ? t('manager.online') : t('manager.offline');
  // Without pins.manager the box lets staff switch the mode, and nobody open the drawer by hand.
  const pin = Boolean(state.page?.managerPin);
  $('manager-pin').hidden = !pin;
  document.querySelector('label[for="manager-pin"]').hidden = !pin;
  $('drawer-open').hidden = !state.page?.drawer || !pin;
}

async function managerAction(path, body, done) {
  const t = state.t;
  const message = $('manager-message');
  const needsPin = Boolean(state.page?.managerPin);
  const pin = $('manager-pin').value;
  if (needsPin && !pin) {
    message.className = 'message error';
    message.textContent = t('pin.enter');
    $('manager-pin').focus();
    return;
  }
  try {
    const { status, data } = await api(path, { method: 'POST', body: needsPin ? { ...body, managerPin: pin } : body });
    message.className = status === 200 ? 'message ok' : 'message error';
    message.textContent = status === 200 ? done : errorText(t, status, data, state.lang);
    if (status === 200) $('manager-pin').value = '';
  } catch {
    message.className = 'message error';
    message.textContent = t('banner.noBoxShort');
  }
  await readHealth();
  renderManager();
}

// ---------- polling the box ----------

async function refreshPage() {
  const { status, data } = await api('/api/page');
  if (status === 200) state.page = data;
}

/** Loads the menu; true when it changed (re-rendering only then keeps a keyboard user's focus). */
async function refreshMenu() {
  const { status, data } = await api('/api/menu');
  if (status !== 200) throw new Error(`menu: HTTP ${status}`);
  const changed = JSON.stringify(data) !== JSON.stringify(state.menu);
  state.menu = data;
  return changed;
}

async function refreshOrders() {
  if (!state.page) return;
  const { status, data } = await api(`/api/orders?status=all&date=${encodeURIComponent(state.page.today)}`);
  if (status !== 200 || JSON.stringify(data) === JSON.stringify(state.orders)) return;
  const focusedOrder = document.activeElement?.closest?.('tr[data-order-id]')?.dataset.orderId;
  state.orders = data;
  renderOrders();
  renderSavedMessage();
  if (focusedOrder) document.querySelector(`tr[data-order-id="${focusedOrder}"] button`)?.focus();
}

async function readHealth() {
  try {
    const { status, data } = await api('/api/health', { timeoutMs: 1200 });
    state.boxAnswering = status === 200;
    if (status === 200) {
      state.health = data;
      void deliverNow().catch(() => undefined);
    }
  } catch {
    state.boxAnswering = false;
  }
  renderBanner();
}

async function pollHealth() {
  await readHealth();
  setTimeout(() => void pollHealth(), HEALTH_EVERY_MS);
}

function every(ms, task) {
  setInterval(() => void task().catch(() => undefined), ms);
}

// ---------- end of day ----------

async function showDay(date) {
  const t = state.t;
  const list = $('eod-summary');
  list.replaceChildren();
  $('eod-note').textContent = '';
  try {
    const { status, data } = await api(`/api/reconciliation?date=${encodeURIComponent(date)}`);
    if (status !== 200) {
      $('eod-note').textContent = t('eod.failed', { detail: errorText(t, status, data, state.lang) });
      return;
    }
    const gaps = data.gaps.map((gap) => (gap.from === gap.to ? `${gap.from}` : `${gap.from}–${gap.to}`)).join(', ');
    const rows = [
      ['eod.count', String(data.count)],
      ['eod.total', money(data.total)],
      ['eod.cash', `${data.byPayment.cash.count} · ${money(data.byPayment.cash.total)}`],
      ['eod.card', `${data.byPayment.card.count} · ${money(data.byPayment.card.total)}`],
      ['eod.first', data.firstNumber ?? t('eod.none')],
      ['eod.last', data.lastNumber ?? t('eod.none')],
      ['eod.gaps', gaps || t('eod.none')],
      ['eod.unsynced', String(data.unsynced)],
    ];
    for (const [key, value] of rows) list.append(el('div', { 'data-field': key }, el('dt', { text: t(key) }), el('dd', { text: value })));
    $('eod-note').textContent = data.unsynced ? t('eod.waiting', { n: data.unsynced }) : t('eod.allSynced');
  } catch {
    $('eod-note').textContent = t('eod.failed', { detail: t('banner.noBoxShort') });
  }
}

// ---------- start ----------

function wire() {
  $('lang').addEventListener('change', () => setLanguage($('lang').value));
  for (const button of document.querySelectorAll('[data-view]')) button.addEventListener('click', () => showView(button.dataset.view));
  $('order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });
  $('open-add').addEventListener('click', addOpenItem);
  // Enter in the open item's fields adds the item; everywhere else in the order it saves.
  $('open-item').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target.tagName === 'INPUT') {
      event.preventDefault();
      addOpenItem();
    }
  });
  for (const radio of document.querySelectorAll('input[name="payment"]')) {
    radio.addEventListener('change', () => {
      state.draft.payment = radio.value;
      changed();
    });
  }
  $('note').addEventListener('input', () => {
    state.draft.note = $('note').value;
    changed();
  });
  $('taken-at').addEventListener('input', () => {
    state.draft.takenAt = $('taken-at').value;
    changed();
  });
  $('tendered').addEventListener('input', () => {
    state.draft.tendered = $('tendered').value;
    changed();
  });
  $('clear').addEventListener('click', clearOrder);
  $('logout').addEventListener('click', () => {
    void api('/api/logout', { method: 'POST' })
      .catch(() => undefined)
      .then(() => location.assign('/login'));
  });
  $('eod-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void showDay($('eod-date').value);
  });
  $('manager-form').addEventListener('submit', (event) => event.preventDefault());
  $('drawer-open').addEventListener('click', () => void managerAction('/api/drawer/open', {}, state.t('manager.drawerOpened')));
  $('mode-toggle').addEventListener('click', () => {
    const held = heldOffline();
    void managerAction('/api/mode', { force: held ? null : 'offline' }, held ? state.t('manager.onlineDone') : state.t('manager.offlineDone'));
  });
}

async function start() {
  // The page as an app (sw.js keeps its shell and menu for when the box is away); only on a secure origin.
  if ('serviceWorker' in navigator && window.isSecureContext) void navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  state.draft = loadDraft();
  wire();
  await refreshKept().catch(() => undefined);
  try {
    await refreshPage();
    await refreshMenu();
  } catch {
    showMessage('error', state.t('err.loadMenu'));
  }
  setLanguage(storedLanguage(state.page?.language));
  renderDraftFields();
  if (state.page) $('eod-date').value = state.page.today;
  void pollHealth();
  await refreshOrders().catch(() => undefined);
  every(ORDERS_EVERY_MS, refreshOrders);
  await refreshNotices().catch(() => undefined);
  every(NOTICES_EVERY_MS, refreshNotices);
  every(PAGE_EVERY_MS, async () => {
    await refreshPage();
    if (await refreshMenu()) {
      renderMenu();
      renderLines();
      renderTotal();
    }
  });
  await document.fonts.ready;
  document.body.dataset.ready = 'true';
}

void start();
