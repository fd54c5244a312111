import { createHash } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import type { Reply, Request } from '../../lib/http.js';
import { matchesEtag, selfOnlyPageHeaders } from '../../lib/static.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { pageLanguage, renderStatusPage, STATUS_STYLE_HASH, type PageLanguage } from './page.js';
import { statusSnapshot, type StatusSnapshot } from './snapshot.js';

/** However many ask, the status is built at most once a second. */
const REBUILD_MS = 1000;

interface Rendered {
  text: string;
  etag: string;
}

/**
 * The status as last built, and its bodies rendered once each (JSON, the page per language) with
 * their ETags. A rebuild that finds nothing changed keeps them, so an ETag stays valid (and
 * browsers get 304s) for as long as the status does not change.
 */
export class StatusBoard {
  private built: { at: number; key: string; snapshot: StatusSnapshot; bodies: Map<string, Rendered> } | undefined;

  constructor(
    private readonly build: (now: number) => StatusSnapshot,
    private readonly clock: Clock,
  ) {}

  get snapshot(): StatusSnapshot {
    return this.current().snapshot;
  }

  /** One rendering of the current status (`render` runs once per status and key). */
  body(key: string, render: (snapshot: StatusSnapshot) => string): Rendered {
    const built = this.current();
    let rendered = built.bodies.get(key);
    if (!rendered) {
      const text = render(built.snapshot);
      rendered = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
      built.bodies.set(key, rendered);
    }
    return rendered;
  }

  private current() {
    const now = this.clock.now();
    if (this.built && now - this.built.at < REBUILD_MS) return this.built;
    const snapshot = this.build(now);
    // `updatedAt` says when the status last changed: a rebuild with the same content is the same status.
    const key = JSON.stringify({ ...snapshot, updatedAt: 0 });
    if (this.built?.key === key) this.built.at = now;
    else this.built = { at: now, key, snapshot, bodies: new Map() };
    return this.built;
  }
}

/**
 * The public status page (`GET /status`, `GET /status.json`, no login): the main server, the
 * database and the chain as their runbooks verify them, the fleet's counts, the current notices and
 * the open incidents of those components. Built at most once a second, served with an ETag and
 * `Cache-Control: public`, so a crowd of customers reloading it costs central next to nothing.
 */
export class StatusPlugin implements CentralPlugin<'status'> {
  readonly name = 'status';
  readonly dependencies = ['recovery', 'notices'] as const;
  readonly prefix = '';

  start(ctx: PluginContext<'status'>): void {
    const config = ctx.config;
    const recovery = ctx.dependency('recovery');
    const notices = ctx.dependency('notices');
    const board = new StatusBoard(
      (now) =>
        statusSnapshot(config, {
          now,
          timeZone: ctx.central.timeZone,
          health: (target) => recovery.targetHealth(target),
          incident: (target) => ctx.incidents.openFor(`runbook:${target}`),
          notices: notices.current(),
          points: ctx.fleet.list(now),
        }),
      ctx.clock,
    );
    const cacheable = (req: Request, rendered: Rendered, headers: Record<string, string>): Reply => {
      const all = { ...headers, etag: rendered.etag, 'cache-control': `public, max-age=${config.cacheSeconds}` };
      if (matchesEtag(req.headers['if-none-match'], rendered.etag)) return { status: 304, headers: all, text: '' };
      return { status: 200, headers: all, text: rendered.text };
    };
    const pageHeaders = { ...selfOnlyPageHeaders({ styleSrc: STATUS_STYLE_HASH }), 'content-type': 'text/html; charset=utf-8', vary: 'Accept-Language' };

    ctx.routes.get('/status.json', 'public', (req) => cacheable(req, board.body('json', (snapshot) => JSON.stringify(snapshot)), { 'content-type': 'application/json; charset=utf-8' }));
    ctx.routes.get('/status', 'public', (req) => {
      const language: PageLanguage = pageLanguage(req.query.get('lang'), req.headers['accept-language'], config.language);
      return cacheable(req, board.body(`page:${language}`, (snapshot) => renderStatusPage(snapshot, language, config.title)), pageHeaders);
    });
  }

  stop(): void {}
}
