import { isDiskFull } from '../lib/sqlite.js';
import { defineError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import type { CheckState } from '../sync/schemas.js';

/** `POST /api/orders` while the box's data disk is full: nothing was saved, the page keeps the cart. */
export const DiskFullError = defineError(
  'disk_full',
  507,
  (dataDir: string) =>
    `not saved: the box's data disk is full (${dataDir}), so nothing of this order was written. ` +
    'Write the order on paper, free space on the data disk (old logs, files that are not the box\'s), then save it again',
);

/** How often a full disk is tried again with a tiny write, so health clears without waiting for an order. */
export const DISK_PROBE_MS = 5000;

/**
 * The system check as health reports it: `down` with "disk full" while the store's last write
 * failed for lack of space (until one succeeds again), whatever the system check last read. Pure.
 */
export function withDiskFull(system: CheckState, fullSince: number | null, dataDir: string): CheckState {
  if (fullSince === null) return system;
  return {
    status: 'down',
    detail: `disk full: the data disk (${dataDir}) has no space left, orders cannot be saved; free space on it`,
    since: fullSince,
    data: { ...system.data, diskFull: true, diskPercent: 100 },
  };
}

/**
 * Whether the box's data disk is full, learnt from SQLite itself (SQLITE_FULL on a write): set by
 * a failed write, cleared by the next write that commits. While set, a tiny write is tried every
 * DISK_PROBE_MS so the box notices freed space on its own.
 */
export class DiskFullWatch {
  private since: number | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: { dataDir: string; clock: Clock; log: Logger; probe: () => void; onChange: () => void },
  ) {}

  get fullSince(): number | null {
    return this.since;
  }

  /** Runs a write; a full disk is noted (and rethrown as DiskFullError), anything else rethrown as is. */
  write<T>(what: string, run: () => T): T {
    let result: T;
    try {
      result = run();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.noteFull(what);
      throw DiskFullError(this.o.dataDir);
    }
    this.noteWritten();
    return result;
  }

  private noteFull(what: string): void {
    if (this.since !== null) return;
    this.since = this.o.clock.now();
    this.o.log.error({ dataDir: this.o.dataDir, what }, 'the data disk is full (SQLITE_FULL): the write was rolled back, orders are refused with 507; free space on the data disk');
    this.timer = setInterval(() => this.probe(), DISK_PROBE_MS);
    this.timer.unref();
    this.o.onChange();
  }

  private noteWritten(): void {
    if (this.since === null) return;
    this.o.log.info({ dataDir: this.o.dataDir, fullFor: this.o.clock.now() - this.since }, 'the data disk has space again: orders are taken');
    this.since = null;
    clearInterval(this.timer);
    this.timer = undefined;
    this.o.onChange();
  }

  private probe(): void {
    try {
      this.write('space probe', this.o.probe);
    } catch (error) {
      if (!DiskFullError.is(error)) this.o.log.warn({ err: (error as Error).message }, 'disk space probe failed');
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
