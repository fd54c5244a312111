import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import type { PluginRoutes } from '../plugin.js';
import { OrderId, PointId } from '../../sync/schemas.js';
import type { ForwardLoop } from './loop.js';

/** `POST /api/forwarding/redrive`: which parked orders to send again (none given: all of them). */
export const RedriveRequest = z.strictObject({
  ids: z.array(OrderId).min(1).max(10_000).optional(),
  pointId: PointId.optional(),
});

export const RedriveReply = z.object({
  redriven: z.number().int().nonnegative(),
  orders: z.array(z.object({ orderId: z.string(), pointId: z.string() })),
  /** Requested ids that were not parked (unknown, pending or already forwarded). */
  notParked: z.array(z.string()),
});
export type RedriveReply = z.infer<typeof RedriveReply>;

/** `loop()` answers the running engine or throws the HTTP error that says why there is none. */
export function registerForwardingRoutes(routes: PluginRoutes, loop: () => ForwardLoop): void {
  routes.get('/forwarding', 'viewer', () => ({ status: 200, body: loop().view() }));
  routes.post('/forwarding/redrive', 'operator', (req) => {
    const request = parseWith(RedriveRequest, req.body ?? {});
    const orders = loop().redrive(request, req.principal!.name);
    const redriven = new Set(orders.map((order) => order.orderId));
    const body: RedriveReply = { redriven: orders.length, orders, notParked: (request.ids ?? []).filter((id) => !redriven.has(id)) };
    return { status: 200, body };
  });
}
