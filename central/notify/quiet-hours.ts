import type { Severity } from '../incidents/types.js';
import type { Channel, Contact, QuietHours } from './config.js';
import type { NoticeKind } from './ladder.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function minutesOf(clock: string): number {
  const [h, m] = clock.split(':').map(Number);
  return h! * 60 + m!;
}

/** Milliseconds since local midnight in the quiet hours' zone. */
function localTimeOfDay(timeZone: string, now: number): number {
  const offset = /^([+-])(\d{2}):(\d{2})$/.exec(timeZone);
  if (offset) {
    const sign = offset[1] === '-' ? -1 : 1;
    const shifted = now + sign * (Number(offset[2]) * 60 + Number(offset[3])) * MINUTE;
    return ((shifted % DAY) + DAY) % DAY;
  }
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(now);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return ((part('hour') * 60 + part('minute')) * 60 + part('second')) * 1000 + (now % 1000);
}

/**
 * When the quiet hours around `now` end, or null outside them. (A DST shift inside the window can move the
 * real end by an hour; the deferred message then goes an hour early or late, which is acceptable.)
 */
export function quietHoursEnd(quiet: QuietHours, now: number): number | null {
  const current = localTimeOfDay(quiet.timeZone, now);
  const from = minutesOf(quiet.from) * MINUTE;
  const to = minutesOf(quiet.to) * MINUTE;
  const inside = from < to ? current >= from && current < to : current >= from || current < to;
  if (!inside) return null;
  return now + ((to - current + DAY) % DAY);
}

export type QuietDecision = { action: 'send' } | { action: 'defer'; until: number } | { action: 'skip' };

/**
 * Quiet hours hold back only what rings a phone (SMS, calls), and pages for critical incidents go
 * through them. An all-clear is dropped rather than deferred, whatever the severity: it is never
 * worth waking someone for, and by morning it is stale.
 */
export function quietHoursDecision(contact: Contact | undefined, channel: Channel, kind: NoticeKind, severity: Severity, now: number): QuietDecision {
  const quiet = contact?.quietHours;
  if (!quiet || (channel !== 'sms' && channel !== 'call')) return { action: 'send' };
  const until = quietHoursEnd(quiet, now);
  if (until === null) return { action: 'send' };
  if (kind === 'resolved') return { action: 'skip' };
  if (severity === 'critical') return { action: 'send' };
  if (quiet.nonCritical === 'skip') return { action: 'skip' };
  return { action: 'defer', until };
}
