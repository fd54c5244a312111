import { createHash } from 'node:crypto';
import type { Reply, Request } from '../../lib/http.js';
import { matchesEtag, selfOnlyPageHeaders } from '../../lib/static.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { pageLanguage, renderStatusPage, STATUS_STYLE_HASH, type PageLanguage } from './page.js';
import { statusSnapshot, type StatusSnapshot } from './snapshot.js';

/** However many ask, the status is built at most once a second. */
const REBUILD_MS = 1000;

interface Built {
  at: number;
  snapshot: StatusSnapshot;
  /** Bodies rendered from this snapshot, each with its ETag: JSON, and the page per language. */
  bodies: Map<string, { text: string; etag: string }>;
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
    let built: Built | undefined;
    const current = (): Built => {
      const now = ctx.clock.now();
      if (built && now - built.at < REBUILD_MS) return built;
      const snapshot = statusSnapshot(config, {
        now,
        timeZone: ctx.central.timeZone,
        health: (target) => recovery.targetHealth(target),
        incident: (target) => ctx.incidents.openFor(`runbook:${target}`),
        notices: notices.current(),
        points: ctx.fleet.list(now),
      });
      built = { at: now, snapshot, bodies: new Map() };
      return built;
    };
    const body = (state: Built, key: string, render: () => string) => {
      let rendered = state.bodies.get(key);
      if (!rendered) {
        const text = render();
        rendered = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
        state.bodies.set(key, rendered);
      }
      return rendered;
    };
    const cacheable = (req: Request, rendered: { text: string; etag: string }, headers: Record<string, string>): Reply => {
      const all = { ...headers, etag: rendered.etag, 'cache-control': `public, max-age=${config.cacheSeconds}` };
      if (matchesEtag(req.headers['if-none-match'], rendered.etag)) return { status: 304, headers: all, text: '' };
      return { status: 200, headers: all, text: rendered.text };
    };
    const pageHeaders = { ...selfOnlyPageHeaders({ styleSrc: STATUS_STYLE_HASH }), 'content-type': 'text/html; charset=utf-8', vary: 'Accept-Language' };

    ctx.routes.get('/status.json', 'public', (req) => {
      const state = current();
      return cacheable(req, body(state, 'json', () => JSON.stringify(state.snapshot)), { 'content-type': 'application/json; charset=utf-8' });
    });
    ctx.routes.get('/status', 'public', (req) => {
      const state = current();
      const language: PageLanguage = pageLanguage(req.query.get('lang'), req.headers['accept-language'], config.language);
      return cacheable(req, body(state, `page:${language}`, () => renderStatusPage(state.snapshot, language, config.title)), pageHeaders);
    });
  }

  stop(): void {}
}
