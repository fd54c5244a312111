import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/** Central's Prometheus registry (one per instance, so several centrals can share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hotpot_central_' });
  return {
    registry,
    ordersIngested: new Counter({ name: 'hotpot_orders_ingested_total', help: 'Orders received from points, by result', labelNames: ['result'] as const, registers: [registry] }),
    rejected: new Counter({ name: 'hotpot_mqtt_rejected_total', help: 'MQTT messages rejected, by reason', labelNames: ['reason'] as const, registers: [registry] }),
  };
}

export type CentralMetrics = ReturnType<typeof createMetrics>;
