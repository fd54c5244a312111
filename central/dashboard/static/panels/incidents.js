import { h, clear, throttle, fmtAgo, fmtTime } from '../dom.js';

const SEVERITY_RANK = { critical: 0, major: 1, minor: 2, info: 3 };

/** Active incidents with their correlated children nested below, ack, and each one's timeline. */
export default {
  id: 'incidents',
  title: 'Incidents',
  order: 20,
  mount(el, app) {
    const showResolved = h('input', { type: 'checkbox', onchange: () => render() });
    const list = h('ul', { class: 'incidents' });
    const error = h('p', { class: 'error', hidden: true });
    el.append(h('div', { class: 'toolbar' }, h('label', {}, showResolved, ' show resolved')), error, list);
    const expanded = new Set();

    async function ack(incident) {
      error.hidden = true;
      try {
        // Central records the signed-in user as the one who acked.
        const updated = await app.api(`/api/incidents/${incident.id}/ack`, { method: 'POST' });
        app.incidents.set(updated.id, updated);
        render();
      } catch (e) {
        error.hidden = false;
        error.textContent = e.message;
      }
    }

    async function toggle(incident, holder) {
      if (expanded.has(incident.id)) {
        expanded.delete(incident.id);
        clear(holder);
        return;
      }
      expanded.add(incident.id);
      await fillTimeline(incident.id, holder);
    }

    async function fillTimeline(id, holder) {
      try {
        const detail = await app.api(`/api/incidents/${id}`);
        clear(holder).append(h('ol', { class: 'timeline' }, detail.timeline.map((t) => h('li', {}, h('time', {}, fmtTime(t.at)), ` ${t.kind}: ${t.text}`))));
      } catch (e) {
        holder.textContent = e.message;
      }
    }

    function item(incident, children, depth) {
      const holder = h('div', { class: 'incident-timeline' });
      if (expanded.has(incident.id)) void fillTimeline(incident.id, holder);
      const now = app.now();
      return h(
        'li',
        { class: `incident depth-${Math.min(depth, 2)}`, dataset: { id: incident.id, severity: incident.severity, status: incident.status, key: incident.key } },
        h(
          'div',
          { class: 'incident-row' },
          h('span', { class: 'sev' }, incident.severity),
          h('button', { class: 'link title', onclick: () => toggle(incident, holder) }, incident.title),
          incident.pointId ? h('button', { class: 'link point', onclick: () => app.openPoint(incident.pointId) }, incident.pointId) : null,
          h('span', { class: 'status' }, incident.status === 'acked' ? `acked by ${incident.ackedBy}` : incident.status),
          h('span', { class: 'age' }, incident.status === 'resolved' ? `resolved ${fmtAgo(now - incident.resolvedAt)} ago` : `${fmtAgo(now - incident.openedAt)}`),
          incident.status === 'open' ? h('button', { class: 'ack', onclick: () => ack(incident) }, 'Ack') : null,
        ),
        h('div', { class: 'detail-text' }, incident.detail),
        holder,
        children.length ? h('ul', { class: 'children' }, children.map((c) => item(c, childrenOf(c), depth + 1))) : null,
      );
    }

    let visible = [];
    const childrenOf = (parent) => visible.filter((i) => i.parentId === parent.id);

    function render() {
      const all = [...app.incidents.values()];
      visible = all
        .filter((i) => i.status !== 'resolved' || showResolved.checked)
        .sort((a, b) => (a.status === 'resolved') - (b.status === 'resolved') || SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.openedAt - a.openedAt);
      const ids = new Set(visible.map((i) => i.id));
      const roots = visible.filter((i) => !i.parentId || !ids.has(i.parentId));
      clear(list);
      if (!roots.length) list.append(h('li', { class: 'muted' }, 'no open incidents'));
      for (const root of roots.slice(0, 200)) list.append(item(root, childrenOf(root), 0));
    }

    app.on('incidents', throttle(render, 100));
    setInterval(render, 30_000);
    render();
  },
};
