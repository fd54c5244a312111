import { h, clear, fill, keyed, throttle } from '../dom.js';
import { t } from '../i18n.js';
import { fmtTime, fmtWhen, fmtFull, localTimes } from '../clock.js';
import { confirmDialog } from '../dialog.js';

const SEVERITY_RANK = { critical: 0, major: 1, minor: 2, info: 3 };
/** Silences change only by hand or by running out: read again this often to see others' changes. */
const SILENCES_EVERY_MS = 30_000;
const DURATIONS = [
  { value: String(30 * 60_000), label: 'silence.for.30m' },
  { value: String(60 * 60_000), label: 'silence.for.1h' },
  { value: String(2 * 3_600_000), label: 'silence.for.2h' },
  { value: String(4 * 3_600_000), label: 'silence.for.4h' },
  { value: String(8 * 3_600_000), label: 'silence.for.8h' },
  { value: String(24 * 3_600_000), label: 'silence.for.24h' },
  { value: String(3 * 86_400_000), label: 'silence.for.3d' },
];

/** An incident's rule, as central's notifier reads it: `point:<id>:<rule>` → rule, else the key's first part. */
function ruleOf(key) {
  const parts = key.split(':');
  return parts[0] === 'point' && parts.length >= 3 ? parts[parts.length - 1] : parts[0];
}

/** The silence covering an incident now, by the same rules as central's notifier (central/notify/silences.ts). */
export function silenceFor(incident, silences, now) {
  const group = incident.group ?? (incident.key.startsWith('area:') ? incident.key.slice('area:'.length) : null);
  return (
    silences.find((s) => {
      if (s.endedAt !== null || s.until <= now) return false;
      const { pointId, group: wanted, rule } = s.match;
      if (pointId !== undefined && incident.pointId !== pointId) return false;
      if (wanted !== undefined && group !== wanted) return false;
      if (rule !== undefined && ruleOf(incident.key) !== rule) return false;
      return true;
    }) ?? null
  );
}

function matchText(match) {
  return Object.entries(match)
    .map(([kind, value]) => `${t(`silence.kind.${kind}`)} ${value}`)
    .join(', ');
}

let silences = [];
const silenceListeners = new Set();

async function loadSilences(app) {
  try {
    silences = await app.api('/api/silences');
    for (const fn of silenceListeners) fn();
  } catch (error) {
    console.warn('silences', error.message);
  }
}

/** The form for a new silence; `preset` fills the match (from an incident). */
export async function newSilence(app, preset = {}) {
  const [kind, value] = Object.entries(preset)[0] ?? ['pointId', ''];
  const created = await confirmDialog({
    title: t('silence.new'),
    body: [h('p', {}, t('silence.explain'))],
    fields: [
      { name: 'kind', label: t('silence.what'), type: 'select', value: kind, options: ['pointId', 'group', 'rule'].map((k) => ({ value: k, label: t(`silence.kind.${k}`) })) },
      { name: 'value', label: t('silence.value'), hint: t('silence.valueHint'), value, required: true, maxlength: 64 },
      { name: 'duration', label: t('silence.duration'), type: 'select', value: String(60 * 60_000), options: DURATIONS.map((d) => ({ value: d.value, label: t(d.label) })) },
      { name: 'reason', label: t('silence.reason'), type: 'textarea', required: true },
    ],
    confirm: t('silence.create'),
    run: (values) =>
      app.api('/api/silences', {
        method: 'POST',
        body: { match: { [values.kind]: values.value.toLowerCase() }, until: app.now() + Number(values.duration), reason: values.reason },
      }),
  });
  if (created) await loadSilences(app);
}

async function endSilence(app, silence) {
  const ended = await confirmDialog({
    title: t('silence.end'),
    body: [h('p', {}, t('silence.endExplain', { match: matchText(silence.match) }))],
    confirm: t('silence.endNow'),
    run: () => app.api(`/api/silences/${encodeURIComponent(silence.id)}`, { method: 'DELETE' }),
  });
  if (ended) await loadSilences(app);
}

async function ack(app, incident) {
  const updated = await app.api(`/api/incidents/${encodeURIComponent(incident.id)}/ack`, { method: 'POST' });
  app.incidents.set(updated.id, { ...incident, ...updated });
  app.emit('incidents', { all: false });
}

async function resolve(app, incident) {
  const done = await confirmDialog({
    title: t('incident.resolveTitle'),
    body: [h('p', {}, incident.title), h('p', { class: 'muted' }, t('incident.resolveExplain'))],
    fields: [{ name: 'reason', label: t('incident.reason'), type: 'textarea' }],
    confirm: t('incident.resolve'),
    run: (values) => app.api(`/api/incidents/${encodeURIComponent(incident.id)}/resolve`, { method: 'POST', body: values.reason ? { reason: values.reason } : {} }),
  });
  if (done) {
    app.incidents.set(done.id, { ...incident, ...done });
    app.emit('incidents', { all: false });
  }
}

function actionButtons(app, incident, onError) {
  if (!app.can('operator') || incident.status === 'resolved') return [];
  const guarded = (fn) => () => fn().catch((error) => onError(error.message));
  return [
    incident.status === 'open' ? h('button', { type: 'button', class: 'ack primary', onclick: guarded(() => ack(app, incident)) }, t('incident.ack')) : null,
    h('button', { type: 'button', class: 'resolve secondary', onclick: guarded(() => resolve(app, incident)) }, t('incident.resolve')),
  ];
}

function statusText(incident, now) {
  if (incident.status === 'acked') return t('incident.ackedBy', { by: incident.ackedBy, when: fmtTime(incident.ackedAt, now) });
  if (incident.status === 'resolved') return t('incident.resolvedAt', { when: fmtWhen(incident.resolvedAt, now) });
  return t('incident.status.open');
}

function silencedMark(incident, now) {
  const silence = incident.status === 'resolved' ? null : silenceFor(incident, silences, now);
  if (!silence) return null;
  return h('span', { class: 'silenced', title: silence.reason }, t('incident.silenced', { until: fmtTime(silence.until, now), by: silence.createdBy, reason: silence.reason }));
}

/** Active incidents (correlated children under their parent), silences, ack / resolve; details in a drawer. */
export default {
  id: 'incidents',
  title: 'view.incidents',
  order: 20,
  drawers: { incident: (...args) => openIncident(...args) },
  mount(el, app) {
    const showResolved = h('input', { type: 'checkbox', id: 'show-resolved', onchange: () => render() });
    const list = h('ul', { class: 'incidents', 'aria-label': t('view.incidents') });
    const error = h('p', { class: 'error', role: 'alert' });
    const silenceList = h('ul', { class: 'silences' });
    el.append(
      h('h1', { class: 'view-title' }, t('view.incidents')),
      h('div', { class: 'toolbar' }, h('label', { class: 'check-label', for: 'show-resolved' }, showResolved, ' ', t('incident.showResolved'))),
      error,
      list,
      h(
        'section',
        { class: 'silences-box', 'aria-labelledby': 'silences-title' },
        h('div', { class: 'section-head' }, h('h2', { id: 'silences-title' }, t('silence.title')), app.can('operator') ? h('button', { type: 'button', class: 'secondary', id: 'new-silence', onclick: () => newSilence(app) }, t('silence.new')) : null),
        silenceList,
      ),
    );
    const showError = (message) => (error.textContent = message);

    function renderSilences() {
      const now = app.now();
      const shown = silences.filter((s) => s.endedAt === null && s.until > now);
      fill(
        silenceList,
        shown.length
          ? shown.map((s) =>
              h(
                'li',
                { class: 'silence', dataset: { id: s.id } },
                h('b', {}, matchText(s.match)),
                ' ',
                h('span', {}, t('silence.until', { until: fmtWhen(s.until, now), by: s.createdBy })),
                h('div', { class: 'muted' }, s.reason),
                app.can('operator') ? h('button', { type: 'button', class: 'secondary', onclick: () => endSilence(app, s) }, t('silence.endNow')) : null,
              ),
            )
          : h('li', { class: 'muted' }, t('silence.none')),
      );
    }

    function create() {
      // Correlated incidents (an area outage's disconnects) fold under their parent: a city down is one line.
      return h(
        'li',
        { class: 'incident' },
        h('div', { class: 'incident-row' }),
        h('div', { class: 'incident-meta' }),
        h('div', { class: 'detail-text' }),
        h('div', { class: 'actions' }),
        h('details', { class: 'kids', hidden: true }, h('summary', {}), h('ul', { class: 'children' })),
      );
    }

    function update(li, { incident, children }) {
      const now = app.now();
      Object.assign(li.dataset, { id: incident.id, severity: incident.severity, status: incident.status, key: incident.key, silenced: String(Boolean(silenceFor(incident, silences, now)) && incident.status !== 'resolved') });
      const [row, meta, detail, actions, folded] = li.children;
      const [count, kids] = folded.children;
      fill(
        row,
        h('span', { class: 'sev' }, t(`severity.${incident.severity}`)),
        h('button', { type: 'button', class: 'link title', onclick: () => app.openIncident(incident.id) }, incident.title),
        incident.pointId ? h('button', { type: 'button', class: 'link point', onclick: () => app.openPoint(incident.pointId) }, incident.pointId) : null,
      );
      fill(meta, h('span', { class: 'status' }, statusText(incident, now)), ' · ', h('span', { class: 'age' }, t('incident.opened', { when: fmtWhen(incident.openedAt, now) })), silencedMark(incident, now));
      fill(detail, localTimes(incident.detail, now));
      fill(actions, actionButtons(app, incident, showError));
      folded.hidden = children.length === 0;
      fill(count, t('incident.childCount', { n: children.length }));
      keyed(kids, children.map((c) => ({ incident: c, children: [] })), (x) => x.incident.id, create, update);
    }

    function render() {
      const all = [...app.incidents.values()];
      const visible = all
        .filter((i) => i.status !== 'resolved' || showResolved.checked)
        .sort((a, b) => (a.status === 'resolved') - (b.status === 'resolved') || SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.openedAt - a.openedAt);
      const ids = new Set(visible.map((i) => i.id));
      const roots = visible.filter((i) => !i.parentId || !ids.has(i.parentId)).slice(0, 200);
      keyed(list, roots.map((incident) => ({ incident, children: visible.filter((c) => c.parentId === incident.id) })), (x) => x.incident.id, create, update);
      const empty = list.querySelector(':scope > .empty');
      if (!roots.length && !empty) list.append(h('li', { class: 'muted empty' }, t('incident.none')));
      if (roots.length && empty) empty.remove();
      const count = document.querySelector('.tab-count[data-view="incidents"]');
      const open = all.filter((i) => i.status === 'open' && !i.parentId).length;
      if (count) count.textContent = open ? String(open) : '';
    }

    silenceListeners.add(() => {
      renderSilences();
      render();
    });
    app.on('incidents', throttle(render, 100));
    // A new incident may be covered by a silence someone else set: read them again (at most every 2 s).
    const reloadSilences = throttle(() => void loadSilences(app), 2000);
    app.on('incident', ({ type }) => type === 'opened' && reloadSilences());
    setInterval(() => void loadSilences(app), SILENCES_EVERY_MS);
    setInterval(render, 30_000);
    render();
    void loadSilences(app);
  },
};

/** The incident drawer: what it is, ack / resolve / comment, who was told what and when, its timeline. */
function openIncident(body, id, app, { heading, badge }) {
  const facts = h('dl', { class: 'facts' });
  const actions = h('div', { class: 'actions' });
  const error = h('p', { class: 'error', role: 'alert' });
  const notifications = h('div', { class: 'notifications' });
  const timeline = h('ol', { class: 'timeline' });
  const children = h('ul', { class: 'children' });
  const comment = h('textarea', { id: 'comment-text', rows: 3, maxlength: 2000 });
  const commentForm = app.can('operator')
    ? h(
        'form',
        {
          class: 'comment',
          onsubmit: async (event) => {
            event.preventDefault();
            if (!comment.value.trim()) return;
            error.textContent = '';
            try {
              await app.api(`/api/incidents/${encodeURIComponent(id)}/comments`, { method: 'POST', body: { text: comment.value.trim() } });
              comment.value = '';
              await load();
            } catch (e) {
              error.textContent = e.message;
            }
          },
        },
        h('label', { for: 'comment-text' }, t('incident.comment')),
        comment,
        h('button', { type: 'submit', class: 'secondary' }, t('incident.addComment')),
      )
    : null;
  body.append(facts, actions, error, commentForm, h('h3', {}, t('incident.notifications')), notifications, h('h3', {}, t('incident.timeline')), timeline, children);

  async function load() {
    try {
      const [detail, sent] = await Promise.all([app.api(`/api/incidents/${encodeURIComponent(id)}`), app.api(`/api/incidents/${encodeURIComponent(id)}/notifications`)]);
      const incident = { ...detail, group: app.incidents.get(id)?.group ?? null };
      const now = app.now();
      heading.textContent = incident.title;
      fill(badge, h('span', { class: 'sev', dataset: { severity: incident.severity } }, t(`severity.${incident.severity}`)));
      const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
      fill(
        facts,
        row(t('incident.statusLabel'), statusText(incident, now)),
        row(t('incident.openedLabel'), fmtWhen(incident.openedAt, now)),
        incident.pointId ? row(t('fleet.col.point'), h('button', { type: 'button', class: 'link point', onclick: () => app.openPoint(incident.pointId) }, incident.pointId)) : null,
        row(t('incident.key'), h('code', {}, incident.key)),
        row(t('incident.detail'), localTimes(incident.detail, now)),
        silencedMark(incident, now) ? row(t('silence.title'), silencedMark(incident, now)) : null,
      );
      fill(
        actions,
        actionButtons(app, incident, (message) => (error.textContent = message)),
        app.can('operator') && incident.status !== 'resolved'
          ? h('button', { type: 'button', class: 'secondary', onclick: () => newSilence(app, incident.pointId ? { pointId: incident.pointId } : { rule: ruleOf(incident.key) }) }, t('silence.thisOne'))
          : null,
      );
      fill(
        notifications,
        sent.length
          ? h(
              'table',
              { class: 'ladder' },
              h('thead', {}, h('tr', {}, ['notify.when', 'notify.channel', 'notify.to', 'notify.what', 'notify.status'].map((k) => h('th', { scope: 'col' }, t(k))))),
              h(
                'tbody',
                {},
                sent.map((n) =>
                  h(
                    'tr',
                    { dataset: { status: n.status, channel: n.channel } },
                    h('td', {}, fmtTime(n.sentAt ?? n.nextAttemptAt, now)),
                    h('td', {}, n.channel),
                    h('td', {}, n.contact || '—'),
                    h('td', {}, `${t(`notify.kind.${n.kind}`)}: ${n.message.subject}`),
                    h('td', { class: 'status' }, t(`notify.status.${n.status}`), n.attempts > 1 ? ` (${t('notify.attempts', { n: n.attempts })})` : '', n.lastError ? h('div', { class: 'error' }, n.lastError) : null),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, t('notify.none')),
      );
      fill(timeline, detail.timeline.map((e) => h('li', { dataset: { kind: e.kind } }, h('time', { datetime: new Date(e.at).toISOString(), title: fmtFull(e.at) }, fmtTime(e.at, now)), ' ', h('b', {}, e.kind), ' ', localTimes(e.text, now))));
      fill(children, detail.children.length ? [h('li', { class: 'muted' }, t('incident.children')), detail.children.map((c) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => app.openIncident(c.id) }, c.title)))] : null);
    } catch (e) {
      error.textContent = e.message;
    }
  }

  const reload = throttle(() => void load(), 500);
  const off = app.on('incident', ({ incident }) => incident.id === id && reload());
  const offSilences = (() => {
    const fn = () => reload();
    silenceListeners.add(fn);
    return () => silenceListeners.delete(fn);
  })();
  const timer = setInterval(reload, 10_000);
  void load();
  return () => {
    off();
    offSilences();
    clearInterval(timer);
  };
}
