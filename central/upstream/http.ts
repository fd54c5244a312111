import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import type { PluginRoutes } from '../plugin.js';
import { OrderId, PointId } from '../../sync/schemas.js';
import type { ForwardingView } from './view.js';
import type { RedriveFilter, Redriven } from './store.js';

/** `POST /api/forwarding/redrive`: which parked orders and voids to send again (none given: all of them; an order's id takes its parked voids too). */
export const RedriveRequest = z.strictObject({
  ids: z.array(OrderId).min(1).max(10_000).optional(),
  pointId: PointId.optional(),
});

export const RedriveReply = z.object({
  /** Orders re-driven. */
  redriven: z.number().int().nonnegative(),
  orders: z.array(z.object({ orderId: z.string(), pointId: z.string() })),
  /** Voids re-driven (each goes after its sale). */
  voids: z.array(z.object({ voidId: z.string(), orderId: z.string(), pointId: z.string() })),
  /** Requested ids that were not parked orders or voids (unknown, pending or already forwarded). */
  notParked: z.array(z.string()),
});
export type RedriveReply = z.infer<typeof RedriveReply>;

/** A time as ms since the epoch, or ISO 8601 with a zone (`2026-12-05T21:00:00+04:00`, `…Z`). */
export const Instant = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time with a zone (e.g. 2026-12-05T21:00:00+04:00) or ms since the epoch' }).transform((text) => Date.parse(text)),
]);

/** `POST /api/forwarding/reforward`: send again every order forwarded at or after `since` (a restore outside central). */
export const ReforwardRequest = z.strictObject({ since: Instant });

export const ReforwardReply = z.object({
  reforwarded: z.number().int().nonnegative(),
  since: z.number(),
});
export type ReforwardReply = z.infer<typeof ReforwardReply>;

/** `POST /api/forwarding/books`: run the books check now (one point, or every point). */
export const BooksRequest = z.strictObject({ pointId: PointId.optional() });

/** What the routes do; every replica can, through the shared forward state. */
export interface ForwardingActions {
  view(): Promise<ForwardingView>;
  redrive(filter: RedriveFilter, by: string): Promise<Redriven>;
  reforward(since: number, by: string): Promise<number>;
  /** Absent without `upstream.lookup`. */
  requestBooksCheck?: (pointId: string | null) => Promise<void>;
}

export function registerForwardingRoutes(routes: PluginRoutes, actions: ForwardingActions): void {
  routes.get('/forwarding', 'viewer', async () => ({ status: 200, body: await actions.view() }));
  routes.post('/forwarding/redrive', 'operator', async (req) => {
    const request = parseWith(RedriveRequest, req.body ?? {});
    const { orders, voids } = await actions.redrive(request, req.principal!.name);
    const redriven = new Set([...orders.map((order) => order.orderId), ...voids.map((record) => record.voidId)]);
    const body: RedriveReply = { redriven: orders.length, orders, voids, notParked: (request.ids ?? []).filter((id) => !redriven.has(id)) };
    return { status: 200, body };
  });
  routes.post('/forwarding/reforward', 'operator', async (req) => {
    const { since } = parseWith(ReforwardRequest, req.body ?? {});
    const body: ReforwardReply = { reforwarded: await actions.reforward(since, req.principal!.name), since };
    return { status: 200, body };
  });
  const requestBooksCheck = actions.requestBooksCheck;
  if (requestBooksCheck) {
    routes.post('/forwarding/books', 'operator', async (req) => {
      const { pointId } = parseWith(BooksRequest, req.body ?? {});
      await requestBooksCheck(pointId ?? null);
      // The leader runs it; its report shows in GET /api/forwarding (`books`) on every replica.
      return { status: 202, body: { requested: true, pointId: pointId ?? null } };
    });
  }
}
