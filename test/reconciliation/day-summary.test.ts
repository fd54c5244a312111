import { describe, expect, it } from 'vitest';
import { dayDifferences, dayWindow, datesBetween, localDate, shiftDate, summarizeDay, type DayOrder } from '../../sync/day-summary.js';
import { judgeDay } from '../../central/reconciliation/index.js';
import { DaySummary, DateString } from '../../sync/schemas.js';

const HOUR = 3_600_000;
const scope = { pointId: 'tbilisi-01', date: '2025-03-01', timeZone: 'Asia/Tbilisi' };

function orders(seqs: number[], synced = true): DayOrder[] {
  return seqs.map((seq) => ({ seq, total: seq * 100, payment: seq % 2 ? 'card' : 'cash', synced }));
}

describe('local days', () => {
  it('are midnight to midnight in the point’s zone (Tbilisi is UTC+4)', () => {
    expect(dayWindow('2025-03-01', 'Asia/Tbilisi')).toEqual({ from: Date.UTC(2025, 1, 28, 20), to: Date.UTC(2025, 2, 1, 20) });
    expect(localDate(Date.UTC(2025, 1, 28, 19, 59), 'Asia/Tbilisi')).toBe('2025-02-28');
    expect(localDate(Date.UTC(2025, 1, 28, 20, 0), 'Asia/Tbilisi')).toBe('2025-03-01');
  });

  it('are 23 and 25 hours long across daylight saving changes', () => {
    const spring = dayWindow('2025-03-30', 'Europe/Berlin');
    const autumn = dayWindow('2025-10-26', 'Europe/Berlin');
    expect(spring.to - spring.from).toBe(23 * HOUR);
    expect(autumn.to - autumn.from).toBe(25 * HOUR);
    expect(spring.from).toBe(Date.UTC(2025, 2, 29, 23));
  });

  it('do calendar arithmetic across months and leap years', () => {
    expect(shiftDate('2024-02-28', 1)).toBe('2024-02-29');
    expect(shiftDate('2025-03-01', -1)).toBe('2025-02-28');
    expect(datesBetween('2024-12-30', '2025-01-02')).toEqual(['2024-12-30', '2024-12-31', '2025-01-01', '2025-01-02']);
    expect(DateString.safeParse('2025-02-30').success).toBe(false);
    expect(DateString.safeParse('2025-2-3').success).toBe(false);
  });
});

describe('day summaries', () => {
  it('count, sum, split by payment, and name the first and last number', () => {
    const summary = summarizeDay(scope, orders([7, 5, 6]));
    expect(DaySummary.parse(summary)).toEqual(summary);
    expect(summary).toMatchObject({
      count: 3,
      total: 1800,
      byPayment: { cash: { count: 1, total: 600 }, card: { count: 2, total: 1200 } },
      firstNumber: 'tbilisi-01-000005',
      lastNumber: 'tbilisi-01-000007',
      gaps: [],
      missing: 0,
      duplicateSeqs: 0,
      unsynced: 0,
    });
  });

  it('find sequence gaps and duplicate numbers', () => {
    const summary = summarizeDay(scope, [...orders([1, 2, 5, 9, 10]), ...orders([10])]);
    expect(summary.gaps).toEqual([
      { from: 3, to: 4 },
      { from: 6, to: 8 },
    ]);
    expect(summary.missing).toBe(5);
    expect(summary.duplicateSeqs).toBe(1);
  });

  it('are empty for a day with no orders', () => {
    expect(summarizeDay(scope, [])).toMatchObject({ count: 0, total: 0, firstNumber: null, lastNumber: null, gaps: [] });
  });

  it('say what differs between the box and central', () => {
    const box = summarizeDay(scope, orders([1, 2, 3, 4]));
    const central = summarizeDay(scope, orders([1, 2, 4]));
    expect(dayDifferences(box, box)).toEqual([]);
    expect(dayDifferences(box, central)).toEqual([
      'orders: box 4, central 3',
      'total: box 10.00, central 7.00',
      'card total: box 4.00, central 1.00',
      'net: box 10.00, central 7.00',
      'sequence gaps: box none, central 3',
    ]);
  });

  it('are judged only once the box has synced the whole day', () => {
    const central = summarizeDay(scope, orders([1, 2]));
    expect(judgeDay(summarizeDay(scope, [...orders([1, 2]), ...orders([3], false)]), central)).toEqual({ status: 'pending', differences: [] });
    expect(judgeDay(summarizeDay(scope, orders([1, 2])), central)).toEqual({ status: 'match', differences: [] });
    expect(judgeDay(summarizeDay(scope, orders([1, 2, 3])), central).status).toBe('mismatch');
  });
});
