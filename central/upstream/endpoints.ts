import { z } from 'zod';
import { redactSecrets } from '../../lib/redact.js';
import type { Exchange } from './decisions.js';

/** One endpoint's health as `GET /api/forwarding` and `/metrics` show it (its URL without secrets). */
export const EndpointHealth = z.object({
  url: z.string(),
  /** The one requests go to first now. */
  current: z.boolean(),
  /** null until it has been tried. */
  up: z.boolean().nullable(),
  lastOkAt: z.number().nullable(),
  lastFailedAt: z.number().nullable(),
  lastError: z.string().nullable(),
  /** Failures in a row. */
  failures: z.number().int(),
});
export type EndpointHealth = z.infer<typeof EndpointHealth>;

/** An answer that says the endpoint itself is not working (no answer, or a 5xx): the next one is tried. */
export function endpointFailed(answer: Exchange): string | null {
  if ('error' in answer) return answer.error;
  return answer.status >= 500 ? `HTTP ${answer.status}` : null;
}

/**
 * `upstream.urls`, tried in turn like the runbook's `API_ENDPOINTS`: a request starts at the
 * current endpoint and moves down the list while endpoints fail; the one that answers becomes
 * current (sticky while it works); while it is not the first, the first is tried again once
 * `primaryRetryMs` has passed since the switch. Pure state over an injected time.
 */
export class Endpoints {
  private current = 0;
  private switchedAt = 0;
  private readonly health: { lastOkAt: number | null; lastFailedAt: number | null; lastError: string | null; failures: number }[];

  constructor(
    readonly urls: readonly string[],
    private readonly primaryRetryMs: number,
  ) {
    this.health = urls.map(() => ({ lastOkAt: null, lastFailedAt: null, lastError: null, failures: 0 }));
  }

  /** The order to try the endpoints in for a request now. */
  order(now: number): number[] {
    const start = this.current !== 0 && now - this.switchedAt >= this.primaryRetryMs ? 0 : this.current;
    return this.urls.map((_, i) => (start + i) % this.urls.length);
  }

  succeeded(index: number, now: number): void {
    const health = this.health[index]!;
    health.lastOkAt = now;
    health.failures = 0;
    if (index !== this.current) {
      this.current = index;
      this.switchedAt = now;
    }
  }

  failed(index: number, now: number, error: string): void {
    const health = this.health[index]!;
    health.lastFailedAt = now;
    health.lastError = error;
    health.failures++;
    // The first, tried again and still down: wait another primaryRetryMs before the next try.
    if (index === 0 && this.current !== 0) this.switchedAt = now;
  }

  view(): EndpointHealth[] {
    return this.urls.map((url, i) => {
      const h = this.health[i]!;
      const up = h.lastOkAt === null && h.lastFailedAt === null ? null : h.failures === 0;
      return { url: redactSecrets(url), current: i === this.current, up, ...h };
    });
  }
}
