import { h } from './dom.js';
import { openPointDetail, closePointDetail } from './point.js';

/**
 * The dashboard's core: live state from SSE, a tiny event bus, the API helper and the panel
 * loader. A panel is a file in static/panels/ exporting
 *   export default { id, title, order, mount(el, app) }
 * and is picked up by GET /api/dashboard/panels; it reads app.points / app.incidents and listens
 * with app.on('points' | 'incidents' | 'incident' | 'command' | '<any type sent with toDashboard>', fn).
 */
const listeners = new Map();
let source;

export const app = {
  /** pointId → the view from GET /api/points */
  points: new Map(),
  /** incident id → incident (active ones and the latest resolved) */
  incidents: new Map(),
  /** What the fleet table shows: {condition, search}; panels change it with app.setFilter. */
  filter: { condition: '', search: '' },
  serverOffsetMs: 0,
  now() {
    return Date.now() + this.serverOffsetMs;
  },
  on(type, fn) {
    if (!listeners.has(type)) {
      listeners.set(type, new Set());
      hook(type);
    }
    listeners.get(type).add(fn);
    return () => listeners.get(type).delete(fn);
  },
  emit(type, data) {
    for (const fn of listeners.get(type) ?? []) {
      try {
        fn(data);
      } catch (error) {
        console.error(`dashboard listener for ${type} failed`, error);
      }
    }
  },
  setFilter(change) {
    Object.assign(this.filter, change);
    this.emit('filter', this.filter);
  },
  async api(path, { method = 'GET', body } = {}) {
    // Changes go as JSON: central refuses a cookie-signed change that is not.
    const changes = method !== 'GET';
    const res = await fetch(path, {
      method,
      headers: changes ? { 'content-type': 'application/json' } : {},
      body: changes ? JSON.stringify(body ?? {}) : undefined,
    });
    if (res.status === 401) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname + location.hash)}`);
      throw new Error('signed out: log in again');
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Error(data?.error ?? `${method} ${path}: HTTP ${res.status}`);
    return data;
  },
  openPoint(pointId) {
    location.hash = `point=${encodeURIComponent(pointId)}`;
  },
  /** Extra sections in the point detail: {id, title, order, render(el, pointId, app)}. */
  pointSections: [],
  addPointSection(section) {
    this.pointSections.push(section);
    this.pointSections.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
  },
};

/** Event types the core parses into app state; any other SSE type reaches app.on listeners as is. */
const CORE = {
  snapshot(data) {
    app.serverOffsetMs = data.now - Date.now();
    app.points = new Map(data.points.map((p) => [p.pointId, p]));
    app.incidents = new Map(data.incidents.map((i) => [i.id, i]));
    app.emit('points', { all: true, changed: data.points });
    app.emit('incidents', { all: true });
  },
  points(data) {
    app.serverOffsetMs = data.now - Date.now();
    for (const point of data.points) app.points.set(point.pointId, point);
    app.emit('points', { all: false, changed: data.points });
  },
  incident(event) {
    app.incidents.set(event.incident.id, event.incident);
    app.emit('incident', event);
    app.emit('incidents', { all: false, event });
  },
};

function hook(type) {
  if (!source || CORE[type] || type === 'points' || type === 'incidents' || type === 'filter') return;
  source.addEventListener(type, (e) => app.emit(type, JSON.parse(e.data)));
}

function connect() {
  const live = document.getElementById('live');
  source = new EventSource('/api/events');
  for (const [type, handle] of Object.entries(CORE)) source.addEventListener(type, (e) => handle(JSON.parse(e.data)));
  for (const type of listeners.keys()) hook(type);
  source.onopen = () => {
    live.dataset.live = 'on';
    live.textContent = 'live';
  };
  source.onerror = () => {
    live.dataset.live = 'off';
    live.textContent = 'reconnecting…';
  };
}

async function loadPanels() {
  const root = document.getElementById('panels');
  const files = await app.api('/api/dashboard/panels');
  const panels = await Promise.all(
    files.map((file) =>
      import(file).then(
        (mod) => mod.default,
        (error) => ({ id: file, title: file, order: 1000, mount: (el) => (el.textContent = `panel failed to load: ${error.message}`) }),
      ),
    ),
  );
  panels.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
  for (const panel of panels) {
    const body = h('div', { class: 'panel-body' });
    root.append(h('section', { class: `panel panel-${panel.id}`, id: `panel-${panel.id}` }, panel.title ? h('h2', {}, panel.title) : null, body));
    try {
      panel.mount(body, app);
    } catch (error) {
      body.textContent = `panel failed: ${error.message}`;
    }
  }
}

function route() {
  const match = /^#point=(.+)$/.exec(location.hash);
  if (match) openPointDetail(app, decodeURIComponent(match[1]));
  else closePointDetail();
}

window.addEventListener('hashchange', route);
window.hotpot = app;
await loadPanels();
connect();
route();
