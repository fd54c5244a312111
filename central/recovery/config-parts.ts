import { z } from 'zod';

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

/** A config duration: milliseconds, or a string like "30s" / "15m" / "4h"; `defaultValue` when absent. */
export function duration(defaultValue: string) {
  return durationSchema.prefault(defaultValue);
}

export function optionalDuration() {
  return durationSchema.optional();
}

export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A program and its arguments; never a shell string (DESIGN principle 4). */
export const argvSchema = z.tuple([z.string().min(1, 'the program name must not be empty')], z.string());

export const pgUrlSchema = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection URL');
