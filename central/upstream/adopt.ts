import type Database from 'better-sqlite3';
import type { Logger } from '../../lib/log.js';
import type { ForwardRow, PostgresForwardStore } from './store-postgres.js';

const PAGE = 5000;

/**
 * The first time replicas share their forward state in PostgreSQL, it starts from the forward state
 * this replica kept in its own SQLite (before `database.url` held it): without it the new shared
 * state would know of no order forwarded and send the whole history again. Only while the shared
 * state has no watermark yet; rows copied keep their state. Returns how many rows it copied.
 */
export async function adoptLocalForwardState(local: Database.Database, shared: PostgresForwardStore, log: Logger): Promise<number> {
  if ((await shared.watermark()) !== null) return 0;
  const hasTables = local.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'forward_meta'").get();
  if (!hasTables) return 0;
  const watermark = local.prepare<[], { value: string }>("SELECT value FROM forward_meta WHERE key = 'watermark'").get()?.value;
  if (!watermark) return 0;
  const page = local.prepare<[number, number], ForwardRow & { rowid: number }>(
    `SELECT rowid, order_id, point_id, seq, received_at, record, status, attempts, last_error, next_attempt_at, forwarded_at, parked_at, updated_at
     FROM forward_orders WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  let copied = 0;
  for (let after = 0; ; ) {
    const rows = page.all(after, PAGE);
    if (rows.length === 0) break;
    copied += await shared.adopt(rows);
    after = rows[rows.length - 1]!.rowid;
  }
  const took = await shared.adoptWatermark(watermark);
  log.info({ copied, watermark, took }, "started the shared forward state from this replica's own");
  return copied;
}
