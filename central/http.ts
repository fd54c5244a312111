import { z } from 'zod';
import { HttpError, parseWith, type Router } from '../lib/http.js';
import { PointId } from '../sync/schemas.js';
import type { Central } from './central.js';
import { forwardBacklog } from './upstream/index.js';

const OrdersQuery = z.object({
  pointId: PointId.optional(),
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** Central's core HTTP API per the public contract; modules add their own routes. */
export function registerCoreRoutes(router: Router, central: Central): void {
  const now = () => central.now();
  router.get('/api/health', () => ({ status: 200, body: central.health() }));
  router.get('/api/points', () => ({ status: 200, body: central.fleet.list(now()) }));
  router.get('/api/points/:pointId', (req) => {
    const view = central.fleet.view(req.params.pointId!, now());
    if (!view) throw new HttpError(404, { error: `no point ${req.params.pointId} has reported to central` });
    return { status: 200, body: view };
  });
  router.get('/api/orders/stats', async () => ({ status: 200, body: { ...(await central.orders.orderStats()), backlog: forwardBacklog(central.store.db, now()) } }));
  router.get('/api/orders', async (req) => {
    const query = parseWith(OrdersQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: await central.orders.listOrders(query) };
  });
  router.get('/metrics', async () => ({
    status: 200,
    text: await central.metrics.registry.metrics(),
    headers: { 'content-type': central.metrics.registry.contentType },
  }));
}
