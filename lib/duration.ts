import { z } from 'zod';

/**
 * The one form of a duration in any config: a number of milliseconds, or a number and a unit
 * ("500ms", "30s", "15m", "4h", "1d").
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** `"30s"`, `"15m"`, `"4h"` or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = DURATION.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

const durationSchema = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(DURATION, 'expected a duration such as "500ms", "30s", "15m", "4h" or a number of milliseconds'),
  ])
  .transform(parseDuration);

/** A config duration in milliseconds; `defaultValue` (e.g. "30s") when absent. */
export function duration(defaultValue: string) {
  return durationSchema.prefault(defaultValue);
}

export function optionalDuration() {
  return durationSchema.optional();
}

/** Milliseconds in the largest unit that divides them: 90000 → "90s", 3600000 → "1h". */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
