import { Counter, Gauge, type Registry } from 'prom-client';
import type { BooksReport } from './books.js';
import type { Backlog, VoidBacklog } from './store.js';
import type { EndpointHealth } from './endpoints.js';

export interface ForwardMetricsSource {
  backlog(): Promise<Backlog>;
  voids(): Promise<VoidBacklog>;
  paused(): Promise<boolean>;
  /** The last books check; null before the first (or without `upstream.lookup`). */
  books(): Promise<BooksReport | null>;
  /** Each of `upstream.urls`, as the leader last saw it. */
  endpoints(): Promise<EndpointHealth[]>;
}

/** The forwarder's series on central's registry; gauges read the shared forward state at scrape time, on any replica. */
export function registerForwardMetrics(registry: Registry, source: ForwardMetricsSource) {
  new Gauge({
    name: 'hotpot_forward_backlog_orders',
    help: 'Orders not yet on the main server, by state (pending, parked)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const backlog = await source.backlog();
      this.set({ state: 'pending' }, backlog.pending);
      this.set({ state: 'parked' }, backlog.parked);
    },
  });
  new Gauge({
    name: 'hotpot_forward_voids',
    help: 'Voids and the main server, by state: pending (waiting_for_sale: of those, their sale not forwarded yet), parked, forwarded',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const voids = await source.voids();
      this.set({ state: 'pending' }, voids.pending);
      this.set({ state: 'waiting_for_sale' }, voids.waitingForSale);
      this.set({ state: 'parked' }, voids.parked);
      this.set({ state: 'forwarded' }, voids.forwarded);
    },
  });
  new Gauge({
    name: 'hotpot_forward_oldest_age_seconds',
    help: 'How long the oldest order not yet on the main server has waited since central received it (0: none)',
    registers: [registry],
    async collect() {
      this.set(((await source.backlog()).oldestAgeMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'hotpot_forward_paused',
    help: '1 while forwarding is paused (main server down), else 0',
    registers: [registry],
    async collect() {
      this.set((await source.paused()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hotpot_forward_endpoint_up',
    help: "Each of the main server's endpoints (upstream.urls): 1 when its last request was answered, 0 when it failed (absent until tried)",
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const endpoint of await source.endpoints()) if (endpoint.up !== null) this.set({ endpoint: endpoint.url }, endpoint.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hotpot_forward_endpoint_current',
    help: 'The endpoint requests go to first now (1), the others 0',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const endpoint of await source.endpoints()) this.set({ endpoint: endpoint.url }, endpoint.current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hotpot_forward_books_orders',
    help: "The last books check (upstream.lookup): forwarded orders it asked the main server about (checked), those it did not hold (missing), sent again (resent), still not held after that (still_missing)",
    labelNames: ['result'] as const,
    registers: [registry],
    async collect() {
      const report = await source.books();
      if (!report) return;
      this.set({ result: 'checked' }, report.checked);
      this.set({ result: 'missing' }, report.missing);
      this.set({ result: 'resent' }, report.resent);
      this.set({ result: 'still_missing' }, report.stillMissing);
    },
  });
  new Gauge({
    name: 'hotpot_forward_books_points',
    help: 'The last books check: points checked, points whose books still differ (differing), points the main server could not be asked about (unchecked)',
    labelNames: ['result'] as const,
    registers: [registry],
    async collect() {
      const report = await source.books();
      if (!report) return;
      this.set({ result: 'checked' }, report.points);
      this.set({ result: 'differing' }, report.differing.filter((point) => point.error === null).length);
      this.set({ result: 'unchecked' }, report.errors);
    },
  });
  new Gauge({
    name: 'hotpot_forward_books_last_check_timestamp_seconds',
    help: 'When the last books check finished (unix seconds; absent before the first)',
    registers: [registry],
    async collect() {
      const report = await source.books();
      if (report) this.set(report.finishedAt / 1000);
    },
  });
  return {
    attempts: new Counter({
      name: 'hotpot_forward_attempts_total',
      help: 'Forward attempts of sales to the main server, by result (forwarded, transient, permanent)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    voidAttempts: new Counter({
      name: 'hotpot_forward_void_attempts_total',
      help: 'Forward attempts of voids to the main server, by result (forwarded, transient, permanent)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
