import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { Reply } from '../../lib/http.js';
import { packageRoot } from '../../lib/paths.js';
import { STATIC_CONTENT_TYPES, selfOnlyPageHeaders } from '../../lib/static.js';
import { CentralErrors } from '../errors.js';
import type { DashboardPush } from '../events.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { fleetSummary } from '../fleet.js';
import { EVENT_TYPE, RESERVED_TYPES } from './events.js';
import { SseHub } from './sse.js';

/** tsc copies no static files to dist/: they are read from the package's sources at runtime. */
export const STATIC_DIR = join(packageRoot(), 'central', 'dashboard', 'static');
const PANELS_DIR = join(STATIC_DIR, 'panels');
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));
const UPLOT_FILES = new Set(['uPlot.iife.min.js', 'uPlot.min.css']);

const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(js|css|html|svg)$/;
const CONTENT_TYPES = STATIC_CONTENT_TYPES;

/** Everything the page loads comes from central itself: no CDN, no inline script (uPlot sets inline styles). */
const SECURITY_HEADERS = selfOnlyPageHeaders({ styleSrc: "'unsafe-inline'" });

/** Changed points are pushed to open pages in one batch this often. */
const PUSH_EVERY_MS = 500;
const PING_EVERY_MS = 15_000;

async function serveFile(dir: string, name: string): Promise<Reply> {
  try {
    const text = await readFile(join(dir, name));
    return { status: 200, text, headers: { 'content-type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream', ...SECURITY_HEADERS } };
  } catch {
    throw CentralErrors.noFile(name);
  }
}

function staticName(name: string): string {
  if (!FILE_NAME.test(name)) throw CentralErrors.noFile(name);
  return name;
}

/**
 * The ops dashboard: `GET /` (plain HTML/CSS/JS from static/, uPlot served locally), live
 * updates over SSE at `GET /api/events`. Panels are the files in static/panels/, listed by
 * `GET /api/dashboard/panels`; other plugins push their own events with `bus.emitDashboardPush`.
 */
export class DashboardPlugin implements CentralPlugin<'dashboard'> {
  readonly name = 'dashboard';
  readonly prefix = '';
  private readonly hub = new SseHub();
  private readonly changed = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private ctx: PluginContext<'dashboard'> | undefined;

  start(ctx: PluginContext<'dashboard'>): void {
    this.ctx = ctx;
    const { routes, fleet, incidents, clock } = ctx;
    ctx.bus.onPointChanged(this, ({ pointId }) => {
      if (this.hub.size) this.changed.add(pointId);
    });
    ctx.bus.onDashboardPush(this, (push) => this.relay(push));
    this.unsubscribe = incidents.subscribe((event) => this.hub.send('incident', event));
    this.timers.push(setInterval(() => this.pushChanged(), PUSH_EVERY_MS), setInterval(() => this.hub.ping(), PING_EVERY_MS));

    routes.get('/', 'viewer', () => serveFile(STATIC_DIR, 'index.html'));
    routes.get('/static/:file', 'public', (req) => serveFile(STATIC_DIR, staticName(req.params.file!)));
    routes.get('/static/panels/:file', 'public', (req) => serveFile(PANELS_DIR, staticName(req.params.file!)));
    routes.get('/vendor/uplot/:file', 'public', (req) => {
      if (!UPLOT_FILES.has(req.params.file!)) throw CentralErrors.noFile(req.params.file!);
      return serveFile(UPLOT_DIR, req.params.file!);
    });
    routes.get('/api/fleet/summary', 'viewer', () => ({ status: 200, body: fleetSummary(fleet.list(clock.now())) }));
    routes.get('/api/dashboard/panels', 'viewer', async () => {
      const files = (await readdir(PANELS_DIR)).filter((name) => FILE_NAME.test(name) && name.endsWith('.js')).sort();
      return { status: 200, body: files.map((file) => `/static/panels/${file}`) };
    });
    routes.get('/api/events', 'viewer', (_req, res) => {
      const now = clock.now();
      // Active incidents and the latest resolved ones; the page asks for more through the API.
      const active = incidents.list({ status: 'active', limit: 1000 });
      const resolved = incidents.list({ status: 'resolved', limit: 50 });
      this.hub.open(res, [{ type: 'snapshot', data: { now, points: fleet.list(now), incidents: [...active, ...resolved] } }]);
      return undefined;
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.timers.forEach((timer) => clearInterval(timer));
    this.timers = [];
    this.hub.closeAll();
  }

  private relay({ type, data }: DashboardPush): void {
    if (!EVENT_TYPE.test(type) || (RESERVED_TYPES as readonly string[]).includes(type)) {
      this.ctx?.log.warn({ type }, 'dashboard event with a bad or reserved type; not sent');
      return;
    }
    this.hub.send(type, data);
  }

  private pushChanged(): void {
    const ctx = this.ctx;
    if (!ctx || this.changed.size === 0) return;
    const now = ctx.clock.now();
    const views = [...this.changed].flatMap((pointId) => ctx.fleet.view(pointId, now) ?? []);
    this.changed.clear();
    this.hub.send('points', { now, points: views });
  }
}
