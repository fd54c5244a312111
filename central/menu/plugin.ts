import type Database from 'better-sqlite3';
import { parseWith } from '../../lib/http.js';
import { Menu } from '../../sync/schemas.js';
import { CentralErrors } from '../errors.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';

/** Append only (central/migrations.ts). */
export const MENU_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS menu_versions (
  version INTEGER PRIMARY KEY,
  body TEXT NOT NULL,
  set_at INTEGER NOT NULL
)`,
  // Who set each version (the signed-in user; null for versions set before 0.2).
  `ALTER TABLE menu_versions ADD COLUMN set_by TEXT`,
];

/** Central's menus, every version kept (who sold what at which price stays answerable). */
class MenuStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare<[string, number, string]>('INSERT INTO menu_versions (body, set_at, set_by) VALUES (?, ?, ?)'),
      latest: db.prepare<[], { version: number; body: string }>('SELECT version, body FROM menu_versions ORDER BY version DESC LIMIT 1'),
    };
  }

  add(menu: Menu, now: number, by: string): number {
    return Number(this.stmts.insert.run(JSON.stringify(menu), now, by).lastInsertRowid);
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
export class MenuPlugin implements CentralPlugin<'menu'> {
  readonly name = 'menu';
  readonly migrations = MENU_MIGRATIONS;
  readonly prefix = '/api/menu';

  start(ctx: PluginContext<'menu'>): void {
    const store = new MenuStore(ctx.db);
    ctx.routes.put('', 'admin', async (req) => {
      const menu: Menu = { ...parseWith(Menu, req.body, 'menu'), ts: ctx.clock.now() };
      const setBy = req.principal!.name;
      const version = store.add(menu, ctx.clock.now(), setBy);
      const counts = { version, categories: menu.categories.length, items: menu.items.length, setBy };
      try {
        await ctx.mqtt.publish('menu', {}, menu);
      } catch (error) {
        ctx.log.warn({ version, err: (error as Error).message }, 'menu stored but not published yet; it goes out when the broker is back');
        return { status: 202, body: { ...counts, published: false, detail: 'stored; it is published to the points as soon as central reconnects to the broker' } };
      }
      ctx.log.info(counts, 'menu published');
      return { status: 200, body: { ...counts, published: true } };
    });
    ctx.routes.get('', 'viewer', () => {
      const latest = store.latest();
      if (!latest) throw CentralErrors.noMenu();
      return { status: 200, body: latest.menu, headers: { 'x-menu-version': String(latest.version) } };
    });
    const republish = () => {
      const latest = store.latest();
      if (!latest) return;
      ctx.mqtt
        .publish('menu', {}, latest.menu)
        .then(() => ctx.log.info({ version: latest.version }, 'menu published again on connect'))
        .catch((error: unknown) => ctx.log.warn({ version: latest.version, err: (error as Error).message }, 'menu publish on connect failed; the next connect retries'));
    };
    ctx.bus.onBrokerConnected(this, republish);
    if (ctx.mqtt.connected) republish();
  }

  stop(): void {}
}
