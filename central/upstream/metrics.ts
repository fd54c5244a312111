import { Counter, Gauge, type Registry } from 'prom-client';
import type { Backlog } from './store.js';

export interface ForwardMetricsSource {
  backlog(): Backlog;
  paused(): boolean;
}

/** The forwarder's series on central's registry; gauges read the store at scrape time. */
export function registerForwardMetrics(registry: Registry, source: ForwardMetricsSource) {
  new Gauge({
    name: 'hotpot_forward_backlog_orders',
    help: 'Orders not yet on the main server, by state (pending, parked)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const backlog = source.backlog();
      this.set({ state: 'pending' }, backlog.pending);
      this.set({ state: 'parked' }, backlog.parked);
    },
  });
  new Gauge({
    name: 'hotpot_forward_oldest_age_seconds',
    help: 'How long the oldest order not yet on the main server has waited since central received it (0: none)',
    registers: [registry],
    collect() {
      this.set((source.backlog().oldestAgeMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'hotpot_forward_paused',
    help: '1 while forwarding is paused (main server down), else 0',
    registers: [registry],
    collect() {
      this.set(source.paused() ? 1 : 0);
    },
  });
  return {
    attempts: new Counter({
      name: 'hotpot_forward_attempts_total',
      help: 'Forward attempts to the main server, by result (forwarded, transient, permanent)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
