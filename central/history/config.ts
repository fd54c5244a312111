import { z } from 'zod';

/** Central config key `history`: how each point's state changes and numbers are kept. */
export const historyConfigSchema = z.strictObject({
  /** Numeric series (cpu, memory, disk, temperature, unsynced) are averaged into buckets this long. */
  bucketMs: z.number().int().min(1000).default(60_000),
  seriesRetentionMs: z.number().int().min(60_000).default(7 * 86_400_000),
  /** State changes (connection, mode, checks, version). */
  eventsRetentionMs: z.number().int().min(60_000).default(30 * 86_400_000),
});
export type HistoryConfig = z.output<typeof historyConfigSchema>;
