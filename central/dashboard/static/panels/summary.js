import { h, clear, throttle, CONDITIONS, CONDITION_LABEL } from '../dom.js';

/** Counts by condition; a count is a filter button for the fleet table. */
export default {
  id: 'summary',
  title: '',
  order: 10,
  mount(el, app) {
    const render = () => {
      const counts = Object.fromEntries(CONDITIONS.map((c) => [c, 0]));
      for (const p of app.points.values()) counts[p.condition] = (counts[p.condition] ?? 0) + 1;
      const active = [...app.incidents.values()].filter((i) => i.status !== 'resolved');
      clear(el);
      el.append(
        h(
          'div',
          { class: 'counts' },
          h(
            'button',
            { class: 'count', dataset: { condition: 'all' }, 'aria-pressed': String(app.filter.condition === ''), onclick: () => app.setFilter({ condition: '' }) },
            h('b', {}, app.points.size),
            ' points',
          ),
          CONDITIONS.map((c) =>
            h(
              'button',
              { class: 'count', dataset: { condition: c }, 'aria-pressed': String(app.filter.condition === c), onclick: () => app.setFilter({ condition: app.filter.condition === c ? '' : c }) },
              h('b', {}, counts[c]),
              ` ${CONDITION_LABEL[c]}`,
            ),
          ),
          h(
            'a',
            { class: 'count incidents-count', href: '#panel-incidents', dataset: { open: active.filter((i) => i.status === 'open' && !i.parentId).length } },
            h('b', {}, active.filter((i) => !i.parentId).length),
            ' incidents',
          ),
        ),
      );
    };
    const later = throttle(render, 200);
    app.on('points', later);
    app.on('incidents', later);
    app.on('filter', render);
    render();
  },
};
