import { z } from 'zod';
import { duration } from '../../lib/duration.js';

/** Central config `activity.*`: orders per point per hour, and points that go quiet when they are usually busy. */
export const activityConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How often the rule looks again (an order clears at once). */
  every: duration('1m'),
  /** How many past weeks give a point's usual orders for this hour of the week (their median). */
  weeks: z.number().int().min(1).max(12).default(4),
  /** A point is usually busy at this hour when that median is at least this many orders. */
  busyMedian: z.number().min(1).default(5),
  /** A busy point online but without an order this long opens `activity:<point>:silent`. */
  silentAfter: duration('30m'),
  severity: z.enum(['critical', 'major', 'minor', 'info']).default('minor'),
});

export type ActivityConfig = z.output<typeof activityConfigSchema>;
