import { h, clear } from './dom.js';
import { t, lang, languageSwitch } from './i18n.js';
import { setTimeZone, fmtWhen, zoneName, timeZone } from './clock.js';
import { openDrawer, closeDrawer, drawerRoute } from './drawer.js';
import { openPoint } from './point.js';

/**
 * The dashboard's core: who is signed in, live state from SSE, the API helper, the views (panels),
 * the hash router and the "central does not answer" banner. A panel is a file in static/panels/
 * exporting
 *   export default { id, title: 'i18n key', order, role?, mount(el, app) }
 * and is picked up by GET /api/dashboard/panels; it listens with app.on('summary' | 'points' |
 * 'incident' | 'incidents' | 'central' | '<any type a plugin pushes>', fn).
 */
const ROLES = ['viewer', 'operator', 'approver', 'admin'];
/** No word from central for this long (ticks come every 4 s): it is unreachable, whatever the socket says. */
const SILENCE_LIMIT_MS = 9000;
/** A failed connection that has not come back in this long is shown as central being unreachable. */
const RECONNECT_GRACE_MS = 2500;

const listeners = new Map();
const watchers = new Map();
let source = null;
let stream = null;
let lastHeard = 0;
let graceTimer = null;

export class ApiError extends Error {
  constructor(status, data, fallback) {
    const code = data?.code;
    const message =
      code === 'ROLE_REQUIRED' ? t('err.role', { role: t(`role.${data.requiredRole}`) }) : status === 0 ? t('err.unreachable') : (data?.error ?? fallback);
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const app = {
  user: { username: '', role: 'viewer' },
  /** pointId → view, for the points some view shows (never the whole fleet). */
  points: new Map(),
  /** incident id → incident (active ones and the latest resolved), each with its point's group. */
  incidents: new Map(),
  summary: null,
  /** {reachable, since}: since when central has (not) been answering; reachable is null until the first try. */
  central: { reachable: null, since: Date.now() },
  serverOffsetMs: 0,
  now() {
    return Date.now() + this.serverOffsetMs;
  },
  /** Whether the signed-in user's role includes `role`. */
  can(role) {
    return ROLES.indexOf(this.user.role) >= ROLES.indexOf(role);
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
  /** JSON in and out; changes go as JSON (central refuses a cookie-signed change that is not). Throws ApiError. */
  async api(path, { method = 'GET', body, headers: wantHeaders = false } = {}) {
    const changes = method !== 'GET';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: changes ? { 'content-type': 'application/json' } : {},
        body: changes ? JSON.stringify(body ?? {}) : undefined,
        credentials: 'same-origin',
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      setReachable(false);
      throw new ApiError(0, null, t('err.unreachable'));
    }
    if (res.status === 401) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname + location.hash)}`);
      throw new ApiError(401, null, t('err.signedOut'));
    }
    const text = await res.text();
    let data;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) throw new ApiError(res.status, data, `${method} ${path}: HTTP ${res.status}`);
    return wantHeaders ? { data, headers: res.headers } : data;
  },
  /**
   * Which points `owner` (a view, the point drawer) shows now: the stream then carries their changes.
   * Resolves with their current views once central follows them.
   */
  watch(owner, pointIds) {
    watchers.set(owner, pointIds);
    return sendWatch();
  },
  openPoint(pointId) {
    location.hash = `${currentView()}/point/${encodeURIComponent(pointId)}`;
  },
  openIncident(id) {
    location.hash = `${currentView()}/incident/${encodeURIComponent(id)}`;
  },
  /** Extra sections in the point drawer: {id, title, order, render(el, pointId, app)}. */
  pointSections: [],
  addPointSection(section) {
    this.pointSections.push(section);
    this.pointSections.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
  },
  /** Drawers register here: kind ('point', 'incident') → open(el, id, app) returning a stop function. */
  drawers: new Map([['point', openPoint]]),
};

async function sendWatch() {
  if (!stream) return;
  const points = [...new Set([...watchers.values()].flat())];
  try {
    const answer = await app.api('/api/dashboard/watch', { method: 'POST', body: { stream, points } });
    CORE.points(answer);
  } catch (error) {
    // A stream this replica does not know (central restarted): the reconnect's snapshot sends the watch again.
    if (error.code !== 'NO_STREAM') console.warn('watch failed', error.message);
  }
}

function heard(now) {
  lastHeard = Date.now();
  if (now) app.serverOffsetMs = now - Date.now();
  setReachable(true);
}

function setReachable(reachable) {
  if (app.central.reachable === reachable) return;
  app.central = { reachable, since: reachable ? Date.now() : lastHeard || Date.now() };
  renderConnection();
  app.emit('central', app.central);
}

/** Event types the core parses into app state; any other SSE type reaches app.on listeners as is. */
const CORE = {
  snapshot(data) {
    heard(data.now);
    stream = data.stream;
    app.summary = data.summary;
    app.incidents = new Map(data.incidents.map((i) => [i.id, i]));
    app.emit('summary', app.summary);
    app.emit('incidents', { all: true });
    void sendWatch();
  },
  summary(data) {
    heard(data.now);
    app.summary = data;
    app.emit('summary', data);
  },
  points(data) {
    heard(data.now);
    for (const point of data.points) app.points.set(point.pointId, point);
    if (data.points.length) app.emit('points', { changed: data.points });
  },
  incident(event) {
    heard();
    app.incidents.set(event.incident.id, event.incident);
    app.emit('incident', event);
    app.emit('incidents', { all: false, event });
  },
  tick(data) {
    heard(data.now);
  },
};

function hook(type) {
  if (!source || CORE[type] || ['points', 'incidents', 'central', 'summary'].includes(type)) return;
  source.addEventListener(type, (e) => {
    heard();
    app.emit(type, JSON.parse(e.data));
  });
}

function connect() {
  source?.close();
  stream = null;
  source = new EventSource('/api/events');
  for (const [type, handle] of Object.entries(CORE)) source.addEventListener(type, (e) => handle(JSON.parse(e.data)));
  for (const type of listeners.keys()) hook(type);
  source.onopen = () => {
    clearTimeout(graceTimer);
    graceTimer = null;
  };
  source.onerror = () => {
    graceTimer ??= setTimeout(() => {
      graceTimer = null;
      if (source.readyState !== EventSource.OPEN) setReachable(false);
    }, RECONNECT_GRACE_MS);
    // Refused (a 401 after the session ended, a 5xx): the browser gives up; ask again ourselves.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => void checkSignedIn().then(connect), 3000);
  };
}

async function checkSignedIn() {
  try {
    await app.api('/api/me');
  } catch {
    // unreachable: keep trying; signed out: api() went to the login page
  }
}

/** A stream that went quiet (a dead network path reports nothing) is replaced; the banner says so meanwhile. */
function watchdog() {
  if (lastHeard && Date.now() - lastHeard > SILENCE_LIMIT_MS) {
    setReachable(false);
    if (Date.now() - lastHeard > SILENCE_LIMIT_MS + 5000) {
      lastHeard = Date.now() - SILENCE_LIMIT_MS;
      connect();
    }
  }
}

function renderConnection() {
  const live = document.getElementById('live');
  const banner = document.getElementById('banner');
  const { reachable, since } = app.central;
  document.body.dataset.central = reachable === null ? 'connecting' : reachable ? 'reachable' : 'unreachable';
  live.dataset.live = reachable === null ? 'connecting' : reachable ? 'on' : 'off';
  live.textContent = reachable === null ? t('live.connecting') : reachable ? t('live.on') : t('live.off');
  banner.hidden = reachable !== false;
  if (reachable === false) {
    clear(banner).append(h('strong', {}, t('banner.title')), ' ', t('banner.text', { since: fmtWhen(since, Date.now()) }));
  }
}

// ---- views and routing -------------------------------------------------------------------

const views = new Map();

function currentView() {
  const name = location.hash.replace(/^#/, '').split('/')[0];
  return views.has(name) ? name : [...views.keys()][0];
}

async function loadPanels(files) {
  const panels = await Promise.all(
    files.map((file) =>
      import(file).then(
        (mod) => mod.default,
        (error) => ({ id: file.replace(/\W/g, '-'), title: file, order: 1000, mount: (el) => (el.textContent = t('err.panel', { error: error.message })) }),
      ),
    ),
  );
  panels.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
  // A panel with a `role` is shown only to that role and above (its API answers only them anyway).
  const shown = panels.filter((panel) => !panel.role || app.can(panel.role));
  const nav = document.getElementById('tabs');
  const main = document.getElementById('views');
  for (const panel of shown) {
    for (const [kind, open] of Object.entries(panel.drawers ?? {})) app.drawers.set(kind, open);
    const body = h('div', { class: 'panel-body' });
    const section = h('section', { class: `view view-${panel.id}`, id: `view-${panel.id}`, 'aria-labelledby': `tab-${panel.id}`, hidden: true }, body);
    const tab = h('a', { class: 'tab', id: `tab-${panel.id}`, href: `#${panel.id}`, dataset: { view: panel.id } }, h('span', { class: 'tab-label' }, t(panel.title)), h('span', { class: 'tab-count', dataset: { view: panel.id } }));
    nav.append(tab);
    main.append(section);
    views.set(panel.id, { panel, section, tab, body, mounted: false });
  }
}

function showView(name) {
  for (const [id, view] of views) {
    const active = id === name;
    view.section.hidden = !active;
    if (active) view.tab.setAttribute('aria-current', 'page');
    else view.tab.removeAttribute('aria-current');
    if (active && !view.mounted) {
      view.mounted = true;
      try {
        view.panel.mount(view.body, app);
      } catch (error) {
        view.body.textContent = t('err.panel', { error: error.message });
      }
    }
    if (active) app.emit('view', id);
  }
}

function route() {
  const [name, kind, id] = location.hash.replace(/^#/, '').split('/');
  const view = views.has(name) ? name : [...views.keys()][0];
  showView(view);
  if (kind && id && app.drawers.has(kind)) openDrawer(kind, decodeURIComponent(id), app);
  else closeDrawer();
}

function renderHeader() {
  document.getElementById('who').textContent = `${app.user.username} · ${t(`role.${app.user.role}`)}`;
  document.getElementById('zone').textContent = t('zone', { zone: zoneName() });
  document.getElementById('zone').title = timeZone();
  document.getElementById('langs').replaceWith(languageSwitch());
  document.getElementById('logout').textContent = t('logout');
  document.getElementById('logout').addEventListener('click', async () => {
    await fetch('/api/logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
    location.assign('/login');
  });
  document.getElementById('skip').textContent = t('skip');
  document.querySelector('nav.tabs').setAttribute('aria-label', t('nav'));
  document.title = t('title');
}

async function start() {
  document.documentElement.lang = lang;
  // The stream opens at once: its snapshot (counts, incidents) is kept until the views mount.
  connect();
  const [context, files] = await Promise.all([app.api('/api/dashboard/context'), app.api('/api/dashboard/panels')]);
  app.user = context.user;
  setTimeZone(context.timeZone);
  renderHeader();
  await loadPanels(files);
  drawerRoute(() => {
    const [name] = location.hash.replace(/^#/, '').split('/');
    history.replaceState(null, '', `#${views.has(name) ? name : currentView()}`);
    route();
  });
  renderConnection();
  setInterval(watchdog, 1000);
  window.addEventListener('hashchange', route);
  route();
}

window.hotpot = app;
start().catch((error) => {
  document.getElementById('views').textContent = t('err.start', { error: error.message });
});
