// The staff page: manual orders on the point's own box. Everything is served by the box, so it
// works with no internet. Text from the menu or orders is only ever set as textContent.
import { LANGUAGES, rememberLanguage, storedLanguage, translatePage, translator } from './i18n.js';

const $ = (id) => document.getElementById(id);
const DRAFT_KEY = 'hotpot.draft';
const HEALTH_EVERY_MS = 1500;
const ORDERS_EVERY_MS = 4000;
const PAGE_EVERY_MS = 60_000;
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
};

// ---------- money ----------

function formatMinor(minor) {
  const abs = Math.abs(minor);
  return `${minor < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function currencySign() {
  const currency = state.page?.currency ?? state.menu.currency;
  return currency === 'GEL' ? '₾' : currency;
}

function money(minor) {
  return `${formatMinor(minor)} ${currencySign()}`;
}

/** "12.50" or "12,5" → 1250; null when it is not a positive amount with at most 2 decimals. */
function parseMoney(text) {
  const match = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!match) return null;
  const minor = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return minor > 0 && minor <= MAX_PRICE ? minor : null;
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
  return { lines: [], payment: null, note: '', clientRef: newRef() };
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

function addMenuItem(sku) {
  const line = state.draft.lines.find((l) => l.sku === sku);
  if (line) line.qty = Math.min(MAX_QTY, (validQty(line.qty) ?? 0) + 1);
  else state.draft.lines.push({ sku, qty: 1 });
  renderLines();
  changed();
}

function addOpenItem() {
  const name = $('open-name').value.trim();
  const unitPrice = parseMoney($('open-price').value);
  if (!name) return showMessage('error', state.t('err.openName'), $('open-name'));
  if (unitPrice === null) return showMessage('error', state.t('err.openPrice', { max: money(MAX_PRICE) }), $('open-price'));
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
  root.replaceChildren();
  $('menu-empty').hidden = state.menu.items.length > 0;
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
    root.append(el('section', { class: 'category', 'aria-labelledby': headingId }, el('h3', { id: headingId, text: category.name[state.lang] ?? category.name.en }), grid));
  }
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
        el(
          'span',
          { class: 'stepper' },
          el('button', { type: 'button', class: 'step', text: '−', 'aria-label': state.t('line.less', { name }), 'data-focus-key': `less-${index}`, onclick: () => stepLine(index, -1) }),
          qty,
          el('button', { type: 'button', class: 'step', text: '+', 'aria-label': state.t('line.more', { name }), 'data-focus-key': `more-${index}`, onclick: () => stepLine(index, +1) }),
        ),
        lineTotal,
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
  $('total').textContent = money(draftTotal());
}

function renderDraftFields() {
  for (const radio of document.querySelectorAll('input[name="payment"]')) radio.checked = radio.value === state.draft.payment;
  $('note').value = state.draft.note;
  renderLines();
  renderTotal();
}

function showMessage(kind, text, focus) {
  const message = $('message');
  message.className = `message ${kind}`;
  message.textContent = text;
  if (focus) focus.focus();
}

function printerText(check) {
  const t = state.t;
  if (!state.page?.printer || !check || check.detail === 'not configured') return t('printer.none');
  if (check.status === 'up') return t('printer.ok');
  const flags = check.data ?? {};
  if (check.status === 'degraded' && flags.paperNearEnd) return t('printer.low');
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
  return t('printer.down', { reason: t(`printer.reason.${reason}`) });
}

function cameraText(check) {
  const t = state.t;
  if (!check || check.detail === 'not configured') return t('camera.none');
  if (check.status === 'up') return t('camera.ok');
  return check.status === 'down' ? t('camera.down') : t('camera.degraded');
}

function renderBanner() {
  const t = state.t;
  const mode = $('mode');
  const health = state.health;
  let kind = 'unknown';
  let text = t('banner.checking');
  if (!state.boxAnswering) {
    kind = 'nobox';
    text = t('banner.noBox');
  } else if (health) {
    kind = health.mode;
    text = health.mode === 'offline' ? t('banner.offline') : t('banner.online');
  }
  mode.className = `mode mode-${kind}`;
  mode.textContent = text;
  document.body.dataset.mode = kind;
  const printer = health ? printerText(health.checks.printer) : '';
  $('printer-state').textContent = printer;
  $('printer-state').className = health && health.checks.printer.status !== 'up' && state.page?.printer ? 'warn' : '';
  $('camera-state').textContent = health ? cameraText(health.checks.camera) : '';
  $('camera-state').className = health && health.checks.camera.status !== 'up' ? 'warn' : '';
  const unsynced = health?.unsynced ?? 0;
  $('unsynced-state').textContent = health ? (unsynced ? t('unsynced.some', { n: unsynced }) : t('unsynced.none')) : '';
  $('unsynced-count').textContent = health ? String(unsynced) : '';
  $('unsynced-count').setAttribute('aria-label', health ? t('unsynced.some', { n: unsynced }) : '');
}

function timeOf(ms) {
  const tz = state.page?.timeZone;
  return new Intl.DateTimeFormat(state.lang, { hour: '2-digit', minute: '2-digit', hour12: false, ...(tz ? { timeZone: tz } : {}) }).format(new Date(ms));
}

function renderOrders() {
  const t = state.t;
  const body = $('orders');
  body.replaceChildren();
  $('today-empty').hidden = state.orders.length > 0;
  $('orders-table').hidden = state.orders.length === 0;
  for (const order of state.orders) {
    const receipt = !state.page?.printer ? t('receipt.none') : order.printed ? t('receipt.printed') : t('receipt.queued');
    body.append(
      el(
        'tr',
        { 'data-order-id': order.id, 'data-sync': order.syncedAt === null ? 'pending' : 'synced' },
        el('td', { class: 'number', text: order.number }),
        el('td', { text: timeOf(order.createdAt) }),
        el('td', { class: 'money', text: money(order.total) }),
        el('td', { text: t(`payment.${order.payment}`) }),
        el('td', { class: order.syncedAt === null ? 'pending' : 'synced', text: order.syncedAt === null ? t('sync.pending') : t('sync.synced') }),
        el('td', { text: receipt }),
        el('td', { class: 'note', text: order.note ?? '' }),
        el(
          'td',
          {},
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

function renderAll() {
  translatePage(document, state.t, state.lang);
  $('open-price-label').textContent = state.t('open.price', { currency: currencySign() });
  $('logout').hidden = !state.page?.login;
  renderMenu();
  renderLines();
  renderTotal();
  renderBanner();
  renderOrders();
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
    ...(managerPin === undefined ? {} : { managerPin }),
  };
}

/** What is wrong with the draft before it goes to the box, or null. */
function draftProblem() {
  const t = state.t;
  if (!state.draft.lines.length) return { text: t('err.empty') };
  const badIndex = state.draft.lines.findIndex((line) => validQty(line.qty) === null);
  if (badIndex >= 0) return { text: t('err.qty', { name: lineName(state.draft.lines[badIndex]) }), focus: document.querySelector(`[data-focus-key="qty-${badIndex}"]`) };
  if (!state.draft.payment) return { text: t('err.payment'), focus: document.querySelector('input[name="payment"]') };
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

async function submitDraft() {
  const t = state.t;
  const total = draftTotal();
  let managerPin;
  for (;;) {
    let result;
    try {
      result = await api('/api/orders', { method: 'POST', body: requestBody(managerPin), timeoutMs: 15_000 });
    } catch {
      // Unknown outcome: the same clientRef goes with the retry, so the box cannot save it twice.
      return showMessage('error', t('err.network'));
    }
    const { status, data } = result;
    if (status === 201 || status === 200) {
      const sameOrder = status === 201 || data.total === total;
      showMessage('ok', sameOrder ? t('saved', { number: data.number }) : t('savedBefore', { number: data.number, total: money(data.total) }));
      state.draft = newDraft();
      storeDraft();
      renderDraftFields();
      void refreshOrders().catch(() => undefined);
      void readHealth();
      return;
    }
    if (status === 403 && (data?.code === 'manager_pin_required' || data?.code === 'manager_pin_wrong')) {
      managerPin = await askManagerPin(limitReason(data), data.code === 'manager_pin_wrong');
      if (managerPin === null) return showMessage('error', t('err.pinCancelled'));
      continue;
    }
    if (status === 403 && data?.code === 'over_limit') return showMessage('error', t('err.overLimit'));
    if (status === 429) return showMessage('error', t('err.locked', { minutes: Math.max(1, Math.ceil((data?.retryAfterSec ?? 60) / 60)) }));
    if (status === 400) return showMessage('error', t('err.invalid', { detail: String(data?.error ?? '').replace(/^invalid (order|request body): /, '') }));
    return showMessage('error', t('err.server'));
  }
}

async function reprint(order) {
  const t = state.t;
  const message = $('reprint-message');
  try {
    const { status, data } = await api(`/api/orders/${encodeURIComponent(order.id)}/reprint`, { method: 'POST' });
    message.textContent = status === 202 ? t('reprint.queued', { number: order.number }) : t('reprint.failed', { detail: data?.error ?? status });
  } catch {
    message.textContent = t('reprint.failed', { detail: t('banner.noBox') });
  }
  await refreshOrders().catch(() => undefined);
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
  if (focusedOrder) document.querySelector(`tr[data-order-id="${focusedOrder}"] button`)?.focus();
}

async function readHealth() {
  try {
    const { status, data } = await api('/api/health', { timeoutMs: 1200 });
    state.boxAnswering = status === 200;
    if (status === 200) state.health = data;
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
      $('eod-note').textContent = t('eod.failed', { detail: data?.error ?? status });
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
    $('eod-note').textContent = t('eod.failed', { detail: t('banner.noBox') });
  }
}

// ---------- start ----------

function wire() {
  for (const button of document.querySelectorAll('[data-lang]')) button.addEventListener('click', () => setLanguage(button.dataset.lang));
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
  $('clear').addEventListener('click', () => {
    state.draft = newDraft();
    storeDraft();
    showMessage('', '');
    renderDraftFields();
  });
  $('logout').addEventListener('click', () => {
    void api('/api/logout', { method: 'POST' })
      .catch(() => undefined)
      .then(() => location.assign('/login'));
  });
  $('eod-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void showDay($('eod-date').value);
  });
}

async function start() {
  state.draft = loadDraft();
  wire();
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
  every(PAGE_EVERY_MS, async () => {
    await refreshPage();
    if (await refreshMenu()) {
      renderMenu();
      renderLines();
      renderTotal();
    }
  });
  document.body.dataset.ready = 'true';
}

void start();
