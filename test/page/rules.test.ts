import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { offlineLimitBreach } from '../../agent/limits.js';
import { afterFailure, DEFAULT_ATTEMPT_POLICY, NO_ATTEMPTS, retryAfterMs } from '../../agent/page/attempts.js';
import { PinGate } from '../../agent/page/pin-gate.js';
import { capturedLogger } from './harness.js';

describe('offline limits', () => {
  const limits = { maxOrderTotal: 10_000, maxOfflineTotal: 50_000 };

  it('do not apply online: central sees those orders at once', () => {
    expect(offlineLimitBreach(limits, 'online', 1_000_000, 1_000_000)).toBeNull();
  });

  it('stop an offline order over the per-order maximum', () => {
    expect(offlineLimitBreach(limits, 'offline', 10_001, 0)).toEqual({ limit: 'maxOrderTotal', max: 10_000, amount: 10_001 });
    expect(offlineLimitBreach(limits, 'offline', 10_000, 0)).toBeNull();
  });

  it('stop an order that takes the unsynced offline sales over their maximum, counting the order itself', () => {
    expect(offlineLimitBreach(limits, 'offline', 5_000, 45_000)).toBeNull();
    expect(offlineLimitBreach(limits, 'offline', 5_001, 45_000)).toEqual({ limit: 'maxOfflineTotal', max: 50_000, amount: 50_001 });
  });

  it('are optional', () => {
    expect(offlineLimitBreach({}, 'offline', 999_999_999, 999_999_999)).toBeNull();
  });
});

describe('PIN attempts', () => {
  const policy = DEFAULT_ATTEMPT_POLICY;

  it('lock out after maxFailures wrong PINs in the window, each lockout in a row twice as long, capped', () => {
    let state = NO_ATTEMPTS;
    let now = 0;
    const lockouts: number[] = [];
    for (let round = 0; round < 9; round++) {
      for (let i = 0; i < policy.maxFailures; i++) {
        const next = afterFailure(state, now, policy);
        state = next.state;
        if (next.lockedForMs) lockouts.push(next.lockedForMs);
      }
      expect(retryAfterMs(state, now)).toBe(lockouts.at(-1));
      now = state.lockedUntil;
    }
    expect(lockouts.slice(0, 4)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(Math.max(...lockouts)).toBe(policy.maxLockoutMs);
  });

  it('forget failures older than the window', () => {
    let state = NO_ATTEMPTS;
    for (let i = 0; i < 10; i++) state = afterFailure(state, i * policy.windowMs, policy).state;
    expect(state.lockedUntil).toBe(0);
  });
});

describe('PinGate', () => {
  it('accepts the PIN, refuses others, and locks a guessing client out (logged, without the PIN)', () => {
    const clock = new ManualClock(1_000_000);
    const { log, lines } = capturedLogger();
    const gate = new PinGate('manager', '4321', clock, log);
    expect(gate.check('10.0.0.5', '4321')).toEqual({ ok: true });
    for (let i = 0; i < DEFAULT_ATTEMPT_POLICY.maxFailures - 1; i++) expect(gate.check('10.0.0.5', `000${i}`)).toMatchObject({ ok: false, locked: false });
    expect(gate.check('10.0.0.5', '9999')).toMatchObject({ ok: false, locked: true, retryAfterMs: 60_000 });
    // Locked out: even the right PIN is refused until the lockout ends; other clients are not affected.
    expect(gate.check('10.0.0.5', '4321')).toMatchObject({ ok: false, locked: true });
    expect(gate.check('10.0.0.6', '4321')).toEqual({ ok: true });
    clock.advance(60_000);
    expect(gate.check('10.0.0.5', '4321')).toEqual({ ok: true });
    const lockout = lines.find((line) => line.msg === 'PIN lockout: too many wrong attempts');
    expect(lockout).toMatchObject({ level: 40, client: '10.0.0.5', role: 'manager', lockedForMs: 60_000 });
    expect(JSON.stringify(lines)).not.toMatch(/(?<![0-9])4321(?![0-9])/); // the PIN, not a port or a time that holds its digits
  });
});
