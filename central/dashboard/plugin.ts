import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { packageRoot } from '../../lib/paths.js';
import { StaticFiles, selfOnlyPageHeaders } from '../../lib/static.js';
import { PointId } from '../../sync/schemas.js';
import { CentralErrors } from '../errors.js';
import type { DashboardPush } from '../events.js';
import type { Incident } from '../incidents/types.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { fleetSummary } from '../fleet.js';

type FleetSummary = ReturnType<typeof fleetSummary>;
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

/** Changed points go to the pages showing them in one batch this often. */
const PUSH_EVERY_MS = 500;
/** The fleet's counts are recounted (all points) at most this often, and sent only when they changed. */
const SUMMARY_EVERY_MS = 1000;
/**
 * Every page hears from central at least this often, so it can say within 10 s that central stopped
 * answering (a connection that dies silently never reports an error).
 */
const TICK_EVERY_MS = 4000;
/** The most points one page may follow live (a page shows at most 100, plus a point's drawer). */
const MAX_WATCHED = 500;

const WatchBody = z.strictObject({ stream: z.uuid(), points: z.array(PointId).max(MAX_WATCHED) });

/**
 * The ops dashboard: `GET /` (plain HTML/CSS/JS from static/, uPlot served locally), live updates over
 * SSE at `GET /api/events`. A page never receives the whole fleet: the stream carries the fleet's
 * counts (`summary`), incidents, plugins' pushes and, for the points the page shows
 * (`POST /api/dashboard/watch`), their changes; the page reads its points a page at a time from
 * `GET /api/points`. Panels are the files in static/panels/, listed by `GET /api/dashboard/panels`;
 * other plugins push their own events with `bus.emitDashboardPush`.
 */
export class DashboardPlugin implements CentralPlugin<'dashboard'> {
  readonly name = 'dashboard';
  readonly prefix = '';
  private readonly hub = new SseHub();
  private readonly changed = new Set<string>();
  private fleetChanged = true;
  /** The counts last made (all points walked), and when: a new page within a second gets these. */
  private summary: { at: number; value: FleetSummary; text: string } | null = null;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private ctx: PluginContext<'dashboard'> | undefined;

  start(ctx: PluginContext<'dashboard'>): void {
    this.ctx = ctx;
    const { routes, fleet, incidents, clock } = ctx;
    ctx.bus.onPointChanged(this, ({ pointId }) => {
      if (!this.hub.size) return;
      this.changed.add(pointId);
      this.fleetChanged = true;
    });
    ctx.bus.onDashboardPush(this, (push) => this.relay(push));
    this.unsubscribe = incidents.subscribe((event) => this.hub.send('incident', { type: event.type, incident: this.withGroup(event.incident) }));
    this.timers.push(
      setInterval(() => this.pushChanged(), PUSH_EVERY_MS),
      setInterval(() => this.hub.send('tick', { now: clock.now() }), TICK_EVERY_MS),
    );

    routes.get('/', 'viewer', (req) => pageFiles.reply('index.html', req.headers));
    routes.get('/static/:file', 'public', (req) => pageFiles.reply(req.params.file!, req.headers));
    routes.get('/static/panels/:file', 'public', (req) => panelFiles.reply(req.params.file!, req.headers));
    routes.get('/vendor/uplot/:file', 'public', (req) => uplotFiles.reply(req.params.file!, req.headers));
    routes.get('/api/fleet/summary', 'viewer', () => ({ status: 200, body: fleetSummary(fleet.list(clock.now())) }));
    routes.get('/api/dashboard/panels', 'viewer', async () => {
      const files = (await readdir(PANELS_DIR)).filter((name) => FILE_NAME.test(name) && name.endsWith('.js')).sort();
      return { status: 200, body: files.map((file) => `/static/panels/${file}`) };
    });
    // What the page needs besides the APIs: the zone every time is shown in, and who is signed in.
    routes.get('/api/dashboard/context', 'viewer', (req) => {
      const who = req.principal!;
      return { status: 200, body: { timeZone: ctx.central.timeZone, replica: ctx.central.replica, user: { username: who.name, role: who.role, kind: who.kind } } };
    });
    routes.post('/api/dashboard/watch', 'viewer', (req) => {
      const body = parseWith(WatchBody, req.body);
      if (!this.hub.watch(body.stream, body.points)) throw CentralErrors.noStream(body.stream);
      // What the page starts following is sent at once: it may have changed since the page read it.
      const now = clock.now();
      return { status: 200, body: { now, points: body.points.flatMap((pointId) => fleet.view(pointId, now) ?? []) } };
    });
    routes.get('/api/events', 'viewer', (req, res) => {
      // HEAD gets the stream's headers and an end, not a stream that never sends and never closes.
      if (req.method === 'HEAD') return { status: 200, text: '', headers: { 'content-type': 'text/event-stream; charset=utf-8' } };
      const now = clock.now();
      // Active incidents and the latest resolved ones; the page asks for more through the API.
      const active = incidents.list({ status: 'active', limit: 1000 });
      const resolved = incidents.list({ status: 'resolved', limit: 50 });
      const summary = this.summary && now - this.summary.at < SUMMARY_EVERY_MS ? this.summary.value : this.countFleet(now).value;
      this.hub.open(res, (client) => [
        { type: 'snapshot', data: { now, stream: client.id, summary, incidents: [...active, ...resolved].map((incident) => this.withGroup(incident)) } },
      ]);
      return undefined;
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.timers.forEach((timer) => clearInterval(timer));
    this.timers = [];
    this.hub.closeAll();
  }

  private countFleet(now: number): { at: number; value: FleetSummary; text: string } {
    const value = fleetSummary(this.ctx!.fleet.list(now));
    this.summary = { at: now, value, text: JSON.stringify(value) };
    return this.summary;
  }

  /** The group of an incident's point: silences by group cover it (the page marks silenced incidents). */
  private withGroup(incident: Incident): Incident & { group: string | null } {
    return { ...incident, group: incident.pointId ? this.ctx!.fleet.groupOf(incident.pointId) : null };
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
    if (!ctx || this.hub.size === 0) return;
    const now = ctx.clock.now();
    if (this.fleetChanged && (!this.summary || now - this.summary.at >= SUMMARY_EVERY_MS)) {
      this.fleetChanged = false;
      const before = this.summary?.text;
      const summary = this.countFleet(now);
      if (summary.text !== before) this.hub.send('summary', { now, ...summary.value });
    }
    if (this.changed.size === 0) return;
    const views = new Map<string, unknown>();
    for (const client of this.hub.all()) {
      const points = [...this.changed].filter((pointId) => client.watch.has(pointId));
      if (points.length === 0) continue;
      for (const pointId of points) if (!views.has(pointId)) views.set(pointId, ctx.fleet.view(pointId, now));
      this.hub.sendTo(client, 'points', { now, points: points.map((pointId) => views.get(pointId)).filter(Boolean) });
    }
    this.changed.clear();
  }
}
