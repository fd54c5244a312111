import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { duration, formatDuration, optionalDuration, parseDuration } from '../../lib/duration.js';

describe('durations', () => {
  it('parse a number of milliseconds or a number and a unit', () => {
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration(' 1.5m ')).toBe(90_000);
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(() => parseDuration('10 minutes')).toThrow('not a duration: 10 minutes');
  });

  it('are a config schema with a default, or optional, that names the expected form on bad input', () => {
    const schema = z.object({ every: duration('15m'), window: optionalDuration() });
    expect(schema.parse({})).toEqual({ every: 900_000 });
    expect(schema.parse({ every: '2h', window: 250 })).toEqual({ every: 7_200_000, window: 250 });
    const bad = schema.safeParse({ every: 'soon', window: -5 });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
    expect(messages).toContain('expected a duration such as "500ms", "30s", "15m", "4h" or a number of milliseconds');
    expect(messages).toMatch(/^window: /m);
  });

  it('format in the largest unit that divides them, and parse back to the same value', () => {
    expect([999, 1000, 90_000, 60_000, 5_400_000, 3_600_000, 86_400_000].map(formatDuration)).toEqual(['999ms', '1s', '90s', '1m', '90m', '1h', '24h']);
    for (const ms of [1, 1000, 90_000, 3_600_000, 86_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
