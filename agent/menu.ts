import { readFileSync } from 'node:fs';
import type { Logger } from '../lib/log.js';
import { Menu } from '../sync/schemas.js';
import type { OrderStore } from './store.js';

const CACHE_KEY = 'menu';

/**
 * The menu the point sells from: central's retained menu (cached in SQLite so it survives a
 * restart with no link), else the local menu file, else an empty menu.
 */
export class MenuSource {
  private current: Menu;
  private origin: 'central' | 'file' | 'empty';

  constructor(private readonly store: OrderStore, private readonly log: Logger, menuFile: string | undefined, currency: string) {
    const cached = store.getMeta(CACHE_KEY);
    const fromCache = cached ? Menu.safeParse(JSON.parse(cached)) : undefined;
    if (fromCache?.success) {
      this.current = fromCache.data;
      this.origin = 'central';
    } else if (menuFile) {
      this.current = loadMenuFile(menuFile);
      this.origin = 'file';
    } else {
      this.current = { currency, categories: [], items: [] };
      this.origin = 'empty';
    }
  }

  get menu(): Menu {
    return this.current;
  }

  get source(): string {
    return this.origin;
  }

  /** A retained `menu` message from central, already validated. */
  acceptFromCentral(menu: Menu): void {
    this.current = menu;
    this.origin = 'central';
    this.store.setMeta(CACHE_KEY, JSON.stringify(menu));
    this.log.info({ items: menu.items.length }, 'menu updated from central');
  }
}

export function loadMenuFile(file: string): Menu {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`menuFile ${file}: cannot read it as JSON (${(error as Error).message})`);
  }
  const result = Menu.safeParse(json);
  if (!result.success) {
    throw new Error(`menuFile ${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}
