import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import { HttpError } from '../../lib/http.js';
import { afterFailure, DEFAULT_ATTEMPT_POLICY, isIdle, NO_ATTEMPTS, retryAfterMs, type AttemptPolicy, type AttemptState } from './attempts.js';

export type PinResult = { ok: true } | { ok: false; locked: boolean; retryAfterMs: number };

const PRUNE_ABOVE = 1000;

/**
 * One PIN (staff or manager) with per-client attempt limiting. The PIN is kept only as an HMAC
 * under a key made at start, and attempts are compared in constant time; lockouts are logged.
 */
export class PinGate {
  private readonly key = randomBytes(32);
  private readonly digest: Buffer;
  private readonly attempts = new Map<string, AttemptState>();

  constructor(
    private readonly role: 'staff' | 'manager',
    pin: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: AttemptPolicy = DEFAULT_ATTEMPT_POLICY,
  ) {
    this.digest = this.hash(pin);
  }

  private hash(value: string): Buffer {
    return createHmac('sha256', this.key).update(value, 'utf8').digest();
  }

  /** Checks one attempt from `client` (its address). A locked-out client is refused unchecked. */
  check(client: string, attempt: string): PinResult {
    const now = this.clock.now();
    const state = this.attempts.get(client) ?? NO_ATTEMPTS;
    const wait = retryAfterMs(state, now);
    if (wait > 0) return { ok: false, locked: true, retryAfterMs: wait };
    if (timingSafeEqual(this.hash(attempt), this.digest)) {
      this.attempts.delete(client);
      return { ok: true };
    }
    const next = afterFailure(state, now, this.policy);
    this.attempts.set(client, next.state);
    if (next.lockedForMs > 0) {
      this.log.warn({ client, role: this.role, lockedForMs: next.lockedForMs, lockouts: next.state.lockouts }, 'PIN lockout: too many wrong attempts');
    }
    this.prune(now);
    return { ok: false, locked: next.lockedForMs > 0, retryAfterMs: next.lockedForMs };
  }

  private prune(now: number): void {
    if (this.attempts.size <= PRUNE_ABOVE) return;
    for (const [client, state] of this.attempts) if (isIdle(state, now, this.policy)) this.attempts.delete(client);
  }
}

/** The HTTP error for a refused PIN: 403 when wrong, 429 (with when to retry) when locked out. */
export function pinRefused(result: Extract<PinResult, { ok: false }>, role: 'staff' | 'manager'): HttpError {
  if (result.locked) {
    const minutes = Math.max(1, Math.ceil(result.retryAfterMs / 60_000));
    return new HttpError(429, {
      error: `too many wrong ${role} PINs: try again in ${minutes} min`,
      code: 'pin_locked',
      retryAfterSec: Math.ceil(result.retryAfterMs / 1000),
    });
  }
  return new HttpError(403, { error: `wrong ${role} PIN`, code: role === 'manager' ? 'manager_pin_wrong' : 'pin_wrong' });
}
