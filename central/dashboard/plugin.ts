import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { StaticFiles, selfOnlyPageHeaders } from '../../lib/static.js';
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

/** Everything the page loads comes from central itself: no CDN, no inline script (uPlot sets inline styles). */
const SECURITY_HEADERS = selfOnlyPageHeaders({ styleSrc: "'unsafe-inline'" });
const pageFiles = new StaticFiles(STATIC_DIR, { headers: SECURITY_HEADERS, only: (name) => FILE_NAME.test(name) });
const panelFiles = new StaticFiles(PANELS_DIR, { headers: SECURITY_HEADERS, only: (name) => FILE_NAME.test(name) });
const uplotFiles = new StaticFiles(UPLOT_DIR, { headers: SECURITY_HEADERS, only: (name) => UPLOT_FILES.has(name) });

/** Changed points are pushed to open pages in one batch this often. */
const PUSH_EVERY_MS = 500;
const PING_EVERY_MS = 15_000;

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

    routes.get('/', 'viewer', (req) => pageFiles.reply('index.html', req.headers));
    routes.get('/static/:file', 'public', (req) => pageFiles.reply(req.params.file!, req.headers));
    routes.get('/static/panels/:file', 'public', (req) => panelFiles.reply(req.params.file!, req.headers));
    routes.get('/vendor/uplot/:file', 'public', (req) => uplotFiles.reply(req.params.file!, req.headers));
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
