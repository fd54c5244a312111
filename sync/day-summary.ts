import { MAX_DAY_GAPS, orderNumber, type DaySummary } from './schemas.js';

/**
 * End-of-day arithmetic shared by the box and central, so both count the same window the same
 * way. Pure: no clock, no I/O.
 */

/** The franchise's points are in Georgia; a box or central with no `timeZone` setting uses it. */
export const DEFAULT_TIME_ZONE = 'Asia/Tbilisi';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function wallClock(ms: number, timeZone: string): { year: number; month: number; day: number; utcOfWallClock: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const { year, month, day, hour, minute, second } = parts as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
  return { year, month, day, utcOfWallClock: Date.UTC(year, month - 1, day, hour, minute, second) };
}

/** The local calendar date (YYYY-MM-DD) of an instant. */
export function localDate(ms: number, timeZone: string): string {
  const { year, month, day } = wallClock(ms, timeZone);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Calendar arithmetic on YYYY-MM-DD. */
export function shiftDate(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** The instant local midnight starts `date` (two passes settle the offset across a DST change). */
function startOfDay(date: string, timeZone: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const midnightAsUtc = Date.UTC(year, month - 1, day);
  const offsetAt = (ms: number) => wallClock(ms, timeZone).utcOfWallClock - Math.floor(ms / 1000) * 1000;
  const guess = midnightAsUtc - offsetAt(midnightAsUtc);
  return midnightAsUtc - offsetAt(guess);
}

/** The local day `date` as epoch ms [from, to); 23 or 25 hours long across a DST change. */
export function dayWindow(date: string, timeZone: string): { from: number; to: number } {
  return { from: startOfDay(date, timeZone), to: startOfDay(shiftDate(date, 1), timeZone) };
}

/** Whole days from `from` to `to` (YYYY-MM-DD), inclusive, oldest first. */
export function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let date = from; date <= to; date = shiftDate(date, 1)) dates.push(date);
  return dates;
}

/** One order as a day summary needs it. */
export interface DayOrder {
  seq: number;
  /** The printed number (a tablet's `<pointId>-<deviceTag>-<seq>` differs from the seq's); absent: the seq's. */
  number?: string;
  total: number;
  payment: 'cash' | 'card';
  /** Acked by central, and so is its void if it has one (always true in central's own summary). */
  synced: boolean;
  /** The order has a void (counted in the order's day). */
  voided?: boolean;
}

export interface DayScope {
  pointId: string;
  date: string;
  timeZone: string;
}

/** Count, sum, first/last number and sequence gaps of one point's orders in one local day. */
export function summarizeDay(scope: DayScope, orders: readonly DayOrder[]): DaySummary {
  const { from, to } = dayWindow(scope.date, scope.timeZone);
  const sorted = [...orders].sort((a, b) => a.seq - b.seq);
  const byPayment = { cash: { count: 0, total: 0 }, card: { count: 0, total: 0 } };
  const gaps: DaySummary['gaps'] = [];
  let missing = 0;
  let duplicateSeqs = 0;
  let total = 0;
  let unsynced = 0;
  const voids = { count: 0, sum: 0 };
  sorted.forEach((order, i) => {
    total += order.total;
    if (order.voided) {
      voids.count++;
      voids.sum += order.total;
    }
    byPayment[order.payment].count++;
    byPayment[order.payment].total += order.total;
    if (!order.synced) unsynced++;
    const previous = sorted[i - 1];
    if (!previous) return;
    if (order.seq === previous.seq) duplicateSeqs++;
    if (order.seq > previous.seq + 1) {
      missing += order.seq - previous.seq - 1;
      if (gaps.length < MAX_DAY_GAPS) gaps.push({ from: previous.seq + 1, to: order.seq - 1 });
    }
  });
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  return {
    pointId: scope.pointId,
    date: scope.date,
    timeZone: scope.timeZone,
    from,
    to,
    count: sorted.length,
    total,
    gross: total,
    voids,
    net: total - voids.sum,
    byPayment,
    firstNumber: first ? (first.number ?? orderNumber(scope.pointId, first.seq)) : null,
    lastNumber: last ? (last.number ?? orderNumber(scope.pointId, last.seq)) : null,
    firstSeq: first?.seq ?? null,
    lastSeq: last?.seq ?? null,
    gaps,
    missing,
    duplicateSeqs,
    unsynced,
  };
}

/** Minor units as `12.50`. */
export function formatMinor(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function describeGaps(summary: DaySummary): string {
  return summary.gaps.length ? summary.gaps.map((gap) => (gap.from === gap.to ? `${gap.from}` : `${gap.from}–${gap.to}`)).join(', ') : 'none';
}

/**
 * What differs between the box's summary of a day and central's, one line each; empty when they
 * agree. Only meaningful once the box reports every order of the day synced.
 */
export function dayDifferences(box: DaySummary, central: DaySummary): string[] {
  const lines: string[] = [];
  const compare = (what: string, boxValue: unknown, centralValue: unknown) => {
    if (boxValue !== centralValue) lines.push(`${what}: box ${String(boxValue)}, central ${String(centralValue)}`);
  };
  compare('orders', box.count, central.count);
  compare('total', formatMinor(box.total), formatMinor(central.total));
  compare('cash total', formatMinor(box.byPayment.cash.total), formatMinor(central.byPayment.cash.total));
  compare('card total', formatMinor(box.byPayment.card.total), formatMinor(central.byPayment.card.total));
  // A box that predates voids reports none: its days compare as before.
  if (box.voids && central.voids) {
    compare('voids', box.voids.count, central.voids.count);
    compare('voided sum', formatMinor(box.voids.sum), formatMinor(central.voids.sum));
    compare('net', formatMinor(box.net ?? 0), formatMinor(central.net ?? 0));
  }
  compare('first number', box.firstNumber, central.firstNumber);
  compare('last number', box.lastNumber, central.lastNumber);
  compare('sequence gaps', describeGaps(box), describeGaps(central));
  compare('duplicate sequence numbers', box.duplicateSeqs, central.duplicateSeqs);
  return lines;
}
