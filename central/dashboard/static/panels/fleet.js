import { h, clear, fill, keyed, throttle, CONDITIONS, CHECKS, HARDWARE_CHECKS } from '../dom.js';
import { t } from '../i18n.js';
import { badge, checkChips, fleetCheckNames, isCurrent, lastSeenFacts, modeFacts, stateLine, unsyncedFacts } from '../facts.js';

/** Points per page: the server filters and pages (GET /api/points), the page never holds the fleet. */
const PAGE = 100;
/** Groups shown before "all groups". */
const TOP_GROUPS = 12;
/** After the fleet's counts change, the page shown is read again at most this often (points join or leave the filter). */
const REFRESH_EVERY_MS = 5000;
const PROBLEMS = ['offline', 'down', 'manual', 'degraded'];

const COLUMNS = [
  { key: 'id', label: 'fleet.col.point' },
  { key: 'state', label: 'fleet.col.state' },
  { key: 'mode', label: 'fleet.col.mode' },
  { key: 'checks', label: 'fleet.col.checks' },
  { key: 'unsynced', label: 'fleet.col.unsynced' },
  { key: 'seen', label: 'fleet.col.lastSeen' },
];

/**
 * The fleet: counts by condition and by group (from the stream's summary), a filtered page of points
 * from the server (cards on a phone, rows on a wide screen: the same elements, the same facts), live
 * updates of the points shown, paging by cursor.
 */
export default {
  id: 'fleet',
  title: 'view.fleet',
  order: 10,
  mount(el, app) {
    const filter = { condition: '', group: '', q: '' };
    /** cursors[i] starts page i (null: the first page). */
    let cursors = [null];
    let page = 0;
    let next = null;
    let ids = [];
    let loaded = false;
    let seq = 0;
    let showAllGroups = false;

    const counts = h('div', { class: 'counts', role: 'group', 'aria-label': t('fleet.byCondition') });
    const groups = h('div', { class: 'groups', role: 'group', 'aria-label': t('fleet.byGroup') });
    const conditionSelect = h('select', { id: 'fleet-condition', onchange: (e) => setFilter({ condition: e.target.value }) });
    const groupSelect = h('select', { id: 'fleet-group', onchange: (e) => setFilter({ group: e.target.value }) });
    let typing = null;
    const search = h('input', {
      id: 'fleet-search',
      type: 'search',
      placeholder: t('fleet.searchHint'),
      autocomplete: 'off',
      oninput: (e) => {
        clearTimeout(typing);
        typing = setTimeout(() => setFilter({ q: e.target.value.trim().toLowerCase() }), 250);
      },
    });
    const status = h('p', { class: 'muted fleet-status', role: 'status' });
    const list = h('ul', { class: 'fleet', 'aria-label': t('fleet.list') });
    const prev = h('button', { type: 'button', class: 'secondary', onclick: () => go(page - 1) }, t('fleet.prev'));
    const nextButton = h('button', { type: 'button', class: 'secondary', onclick: () => go(page + 1) }, t('fleet.next'));
    const pageInfo = h('span', { class: 'muted' });
    el.append(
      h('h1', { class: 'view-title' }, t('view.fleet')),
      counts,
      h('h2', { class: 'sub-title' }, t('fleet.byGroup')),
      groups,
      h(
        'div',
        { class: 'toolbar' },
        h('div', { class: 'field' }, h('label', { for: 'fleet-condition' }, t('fleet.state')), conditionSelect),
        h('div', { class: 'field' }, h('label', { for: 'fleet-group' }, t('fleet.group')), groupSelect),
        h('div', { class: 'field grow' }, h('label', { for: 'fleet-search' }, t('fleet.search')), search),
      ),
      status,
      h('div', { class: 'fleet-head', 'aria-hidden': 'true' }, COLUMNS.map((c) => h('span', { class: `c-${c.key}` }, t(c.label)))),
      list,
      h('div', { class: 'pager' }, prev, pageInfo, nextButton),
    );

    function setFilter(change) {
      Object.assign(filter, change);
      cursors = [null];
      page = 0;
      renderSummary();
      void load();
    }

    function go(target) {
      if (target < 0 || (target > page && !next)) return;
      if (target > page) cursors[target] = next;
      page = target;
      void load().then(() => list.firstElementChild?.querySelector('button')?.focus());
    }

    async function load() {
      const mine = ++seq;
      const params = new URLSearchParams({ limit: String(PAGE) });
      for (const key of ['condition', 'group', 'q']) if (filter[key]) params.set(key, filter[key]);
      if (cursors[page]) params.set('cursor', cursors[page]);
      try {
        const { data, headers } = await app.api(`/api/points?${params}`, { headers: true });
        if (mine !== seq) return;
        next = headers.get('x-next-cursor');
        for (const p of data) app.points.set(p.pointId, p);
        ids = data.map((p) => p.pointId);
        loaded = true;
        renderList();
        void app.watch('fleet', ids);
      } catch (error) {
        if (mine === seq) status.textContent = error.message;
      }
    }

    const create = () =>
      h(
        'li',
        { class: 'pt' },
        h('div', { class: 'c-id' }, h('button', { type: 'button', class: 'pt-open', onclick: (e) => app.openPoint(e.currentTarget.closest('li').dataset.key) }), h('span', { class: 'group' })),
        h('div', { class: 'c-state' }),
        h('div', { class: 'c-mode' }),
        h('div', { class: 'c-checks' }),
        h('div', { class: 'c-unsynced' }),
        h('div', { class: 'c-seen' }),
      );

    function update(li, p) {
      const now = app.now();
      li.dataset.point = p.pointId;
      li.dataset.condition = p.condition;
      li.dataset.current = String(isCurrent(p));
      const [id, state, mode, checks, unsynced, seen] = li.children;
      fill(id.firstElementChild, p.pointId);
      fill(id.lastElementChild, p.group);
      fill(state, badge(p), h('span', { class: 'state-line' }, stateLine(p, now)));
      fill(mode, label('fleet.col.mode'), modeFacts(p, now));
      fill(checks, label('fleet.col.checks'), h('span', { class: 'chips' }, checkChips(p, fleetCheckNames(p, CHECKS, HARDWARE_CHECKS), now)));
      fill(unsynced, label('fleet.col.unsynced'), unsyncedFacts(p, now));
      fill(seen, label('fleet.col.lastSeen'), lastSeenFacts(p, now));
    }

    function renderList() {
      keyed(list, ids.map((id) => app.points.get(id)).filter(Boolean), (p) => p.pointId, create, update);
      const first = page * PAGE + 1;
      const total = totalShown();
      pageInfo.textContent = ids.length ? t('fleet.range', { from: first, to: first + ids.length - 1, total: total ?? '?' }) : '';
      prev.disabled = page === 0;
      nextButton.disabled = !next;
      status.textContent = ids.length ? '' : app.summary?.points === 0 ? t('fleet.none') : t('fleet.noMatch');
      if (!document.body.dataset.fleetRendered && app.summary) {
        document.body.dataset.fleetRendered = 'true';
        performance.mark('hotpot:fleet-rendered');
      }
    }

    /** How many points the filter matches, from the summary (unknown while searching by text). */
    function totalShown() {
      const s = app.summary;
      if (!s || filter.q) return null;
      const bucket = filter.group ? s.byGroup[filter.group] : s.byCondition;
      if (!bucket) return 0;
      return filter.condition ? (bucket[filter.condition] ?? 0) : filter.group ? Object.values(bucket).reduce((a, b) => a + b, 0) : s.points;
    }

    function renderSummary() {
      const s = app.summary;
      if (!s) return;
      const button = (condition, n, text) =>
        h(
          'button',
          { type: 'button', class: 'count', dataset: { condition: condition || 'all' }, 'aria-pressed': String(filter.condition === condition), onclick: () => setFilter({ condition: filter.condition === condition ? '' : condition }) },
          h('b', {}, n.toLocaleString('en-US')),
          ' ',
          text,
        );
      fill(counts, button('', s.points, t('fleet.all')), CONDITIONS.map((c) => button(c, s.byCondition[c] ?? 0, t(`cond.${c}`))));
      const entries = Object.entries(s.byGroup).map(([group, byCondition]) => ({
        group,
        total: Object.values(byCondition).reduce((a, b) => a + b, 0),
        problems: PROBLEMS.reduce((sum, c) => sum + (byCondition[c] ?? 0), 0),
        byCondition,
      }));
      entries.sort((a, b) => b.problems - a.problems || a.group.localeCompare(b.group));
      const shown = showAllGroups ? entries : entries.slice(0, TOP_GROUPS);
      fill(
        groups,
        shown.map((g) =>
          h(
            'button',
            { type: 'button', class: 'group-card', dataset: { group: g.group }, 'aria-pressed': String(filter.group === g.group), onclick: () => setFilter({ group: filter.group === g.group ? '' : g.group }) },
            h('b', {}, g.group),
            ' ',
            h('span', {}, t('fleet.groupPoints', { n: g.total })),
            PROBLEMS.filter((c) => g.byCondition[c]).map((c) => h('span', { class: 'mini', dataset: { condition: c } }, `${g.byCondition[c]} ${t(`cond.${c}`)}`)),
          ),
        ),
        entries.length > TOP_GROUPS
          ? h('button', { type: 'button', class: 'secondary', onclick: () => ((showAllGroups = !showAllGroups), renderSummary()) }, showAllGroups ? t('fleet.fewerGroups') : t('fleet.allGroups', { n: entries.length }))
          : null,
      );
      fill(conditionSelect, h('option', { value: '' }, t('fleet.everyState')), CONDITIONS.map((c) => h('option', { value: c, selected: filter.condition === c }, t(`cond.${c}`))));
      conditionSelect.value = filter.condition;
      fill(groupSelect, h('option', { value: '' }, t('fleet.everyGroup')), entries.map((g) => g.group).sort().map((g) => h('option', { value: g, selected: filter.group === g }, g)));
      groupSelect.value = filter.group;
      if (loaded) renderList();
    }

    const refresh = throttle(() => void load(), REFRESH_EVERY_MS);
    app.on('summary', () => {
      renderSummary();
      if (loaded) refresh();
    });
    app.on('points', ({ changed }) => {
      if (changed.some((p) => ids.includes(p.pointId))) renderList();
    });
    // Ages ("4 min ago") move on by themselves.
    setInterval(() => loaded && renderList(), 15_000);
    renderSummary();
    void load();
  },
};

function label(key) {
  return h('span', { class: 'lbl' }, t(key));
}
