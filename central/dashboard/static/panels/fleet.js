import { h, clear, throttle, fmtAgo, CONDITIONS, CONDITION_LABEL } from '../dom.js';

const CHECKS = ['internet', 'printer', 'camera', 'system'];
const RANK = Object.fromEntries(CONDITIONS.map((c, i) => [c, i]));
const MAX_ROWS = 500;

const COLUMNS = [
  { key: 'pointId', label: 'Point', value: (p) => p.pointId },
  { key: 'condition', label: 'State', value: (p) => RANK[p.condition] },
  { key: 'mode', label: 'Mode', value: (p) => p.mode ?? '', optional: true },
  ...CHECKS.map((name) => ({ key: name, label: name[0].toUpperCase() + name.slice(1), value: (p) => p.checks[name]?.status ?? '', check: true })),
  { key: 'unsynced', label: 'Unsynced', value: (p) => p.unsynced ?? -1 },
  { key: 'lastSeen', label: 'Last seen', value: (p) => p.lastSeen ?? 0 },
  { key: 'version', label: 'Version', value: (p) => p.version ?? '', optional: true },
];

/** Every point: filter by state, search by id or group, sort by any column; live. */
export default {
  id: 'fleet',
  title: 'Points',
  order: 30,
  mount(el, app) {
    let sort = { key: 'condition', dir: 1 };
    const select = h(
      'select',
      { 'aria-label': 'state', onchange: (e) => app.setFilter({ condition: e.target.value }) },
      h('option', { value: '' }, 'every state'),
      CONDITIONS.map((c) => h('option', { value: c }, CONDITION_LABEL[c])),
    );
    const search = h('input', { type: 'search', placeholder: 'search point or city', 'aria-label': 'search', oninput: (e) => app.setFilter({ search: e.target.value }) });
    const note = h('span', { class: 'muted' });
    const head = h('tr');
    const body = h('tbody');
    el.append(h('div', { class: 'toolbar' }, select, search, note), h('div', { class: 'table-wrap' }, h('table', { class: 'fleet' }, h('thead', {}, head), body)));

    function renderHead() {
      clear(head);
      for (const col of COLUMNS) {
        const arrow = sort.key === col.key ? (sort.dir > 0 ? ' ▲' : ' ▼') : '';
        head.append(
          h(
            'th',
            { class: col.optional ? 'opt' : col.check ? 'check' : '', 'aria-sort': sort.key === col.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none' },
            h('button', { class: 'link', onclick: () => setSort(col.key) }, col.label + arrow),
          ),
        );
      }
    }

    function setSort(key) {
      sort = sort.key === key ? { key, dir: -sort.dir } : { key, dir: 1 };
      renderHead();
      render();
    }

    function render() {
      const { condition, search: text } = app.filter;
      select.value = condition;
      const needle = text.trim().toLowerCase();
      const col = COLUMNS.find((c) => c.key === sort.key);
      const rows = [...app.points.values()]
        .filter((p) => (!condition || p.condition === condition) && (!needle || p.pointId.includes(needle) || p.group.includes(needle)))
        .sort((a, b) => {
          const x = col.value(a);
          const y = col.value(b);
          return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || a.pointId.localeCompare(b.pointId);
        });
      const now = app.now();
      const frag = document.createDocumentFragment();
      for (const p of rows.slice(0, MAX_ROWS)) {
        frag.append(
          h(
            'tr',
            { dataset: { point: p.pointId, condition: p.condition }, tabindex: 0, onclick: () => app.openPoint(p.pointId), onkeydown: (e) => e.key === 'Enter' && app.openPoint(p.pointId) },
            h('td', { class: 'point' }, h('b', {}, p.pointId), h('small', {}, ` ${p.group}`)),
            h('td', { class: 'state' }, h('span', { class: 'badge', dataset: { condition: p.condition } }, CONDITION_LABEL[p.condition])),
            h('td', { class: 'opt' }, p.mode === 'offline' ? 'manual' : (p.mode ?? '—')),
            CHECKS.map((name) => {
              const check = p.checks[name];
              return h('td', { class: 'check', dataset: { status: check?.status ?? 'none' }, title: check ? `${check.status}: ${check.detail}` : 'no report' }, check?.status ?? '—');
            }),
            h('td', { class: 'num' }, p.unsynced ?? '—'),
            h('td', { class: 'num' }, p.lastSeen ? fmtAgo(now - p.lastSeen) : '—'),
            h('td', { class: 'opt' }, p.version ?? '—'),
          ),
        );
      }
      clear(body).append(frag);
      note.textContent = rows.length > MAX_ROWS ? `showing ${MAX_ROWS} of ${rows.length}: narrow the search` : `${rows.length} shown`;
    }

    app.on('points', throttle(render, 150));
    app.on('filter', render);
    setInterval(render, 5000);
    renderHead();
    render();
  },
};
