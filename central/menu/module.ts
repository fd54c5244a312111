import type Database from 'better-sqlite3';
import { HttpError, parseWith } from '../../lib/http.js';
import { topics } from '../../sync/topics.js';
import { Menu } from '../../sync/schemas.js';
import type { CentralContext, CentralModule } from '../module.js';

const SCHEMA = `CREATE TABLE IF NOT EXISTS menu_versions (
  version INTEGER PRIMARY KEY,
  body TEXT NOT NULL,
  set_at INTEGER NOT NULL
)`;

/** Central's menus, every version kept (who sold what at which price stays answerable). */
class MenuStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.stmts = {
      insert: db.prepare<[string, number]>('INSERT INTO menu_versions (body, set_at) VALUES (?, ?)'),
      latest: db.prepare<[], { version: number; body: string }>('SELECT version, body FROM menu_versions ORDER BY version DESC LIMIT 1'),
    };
  }

  add(menu: Menu, now: number): number {
    return Number(this.stmts.insert.run(JSON.stringify(menu), now).lastInsertRowid);
  }

  latest(): { version: number; menu: Menu } | null {
    const row = this.stmts.latest.get();
    return row ? { version: row.version, menu: JSON.parse(row.body) as Menu } : null;
  }
}

/**
 * `PUT /api/menu` and `GET /api/menu`: the menu is validated, stored in central's SQLite, and
 * published retained on `menu`, so every point gets it on (re)connect. It is published again on
 * every connection to the broker, so a broker that lost its retained messages gets it back.
 */
export class MenuModule implements CentralModule {
  readonly name = 'menu';
  private ctx: CentralContext | undefined;
  private store: MenuStore | undefined;
  private readonly onConnect = () => this.republish();

  start(ctx: CentralContext): void {
    this.ctx = ctx;
    const store = new MenuStore(ctx.store.db);
    this.store = store;
    ctx.router.put('/api/menu', async (req) => {
      const menu: Menu = { ...parseWith(Menu, req.body, 'menu'), ts: ctx.clock.now() };
      const version = store.add(menu, ctx.clock.now());
      const counts = { version, categories: menu.categories.length, items: menu.items.length };
      try {
        await ctx.link.publish(topics.menu(), menu, { retain: true });
      } catch (error) {
        ctx.log.warn({ version, err: (error as Error).message }, 'menu stored but not published yet; it goes out when the broker is back');
        return { status: 202, body: { ...counts, published: false, detail: 'stored; it is published to the points as soon as central reconnects to the broker' } };
      }
      ctx.log.info(counts, 'menu published');
      return { status: 200, body: { ...counts, published: true } };
    });
    ctx.router.get('/api/menu', () => {
      const latest = store.latest();
      if (!latest) throw new HttpError(404, { error: 'no menu has been set yet: PUT one to /api/menu' });
      return { status: 200, body: latest.menu, headers: { 'x-menu-version': String(latest.version) } };
    });
    ctx.link.on('connect', this.onConnect);
    if (ctx.link.connected) this.republish();
  }

  private republish(): void {
    const latest = this.store?.latest();
    const ctx = this.ctx;
    if (!latest || !ctx) return;
    ctx.link
      .publish(topics.menu(), latest.menu, { retain: true })
      .then(() => ctx.log.info({ version: latest.version }, 'menu published again on connect'))
      .catch((error: unknown) => ctx.log.warn({ version: latest.version, err: (error as Error).message }, 'menu publish on connect failed; the next connect retries'));
  }

  stop(): void {
    this.ctx?.link.off('connect', this.onConnect);
  }
}
