import { z } from 'zod';
import { parseWith } from '../lib/http.js';
import { PointId } from '../sync/schemas.js';
import type { Central } from './central.js';
import { CentralErrors } from './errors.js';
import { sameSecret } from './access/secrets.js';
import { registerIncidentRoutes } from './incidents/routes.js';
import { GroupName, POINT_CONDITIONS } from './fleet.js';

const OrdersQuery = z.object({
  pointId: PointId.optional(),
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const MAX_PAGE = 1000;
const PointsQuery = z.strictObject({
  condition: z.enum(POINT_CONDITIONS).optional(),
  group: GroupName.optional(),
  q: z.string().trim().toLowerCase().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
  cursor: PointId.optional(),
});

function nextLink(query: URLSearchParams, cursor: string): string {
  const next = new URLSearchParams(query);
  next.set('cursor', cursor);
  return `/api/points?${next}`;
}

/** Central's core HTTP API per the public contract (plugins mount their own routes). */
export function registerCoreRoutes(central: Central): void {
  const route = (access: 'public' | 'viewer') => ({ meta: { access, owner: 'core' } });
  const { router } = central;
  const now = () => central.now();
  router.add('GET', '/api/health', route('public'), () => ({ status: 200, body: central.health() }));
  router.add('GET', '/api/points', route('viewer'), (req) => {
    const query = parseWith(PointsQuery, Object.fromEntries(req.query), 'query');
    if (query.limit === undefined && Object.keys(query).length === 0) return { status: 200, body: central.fleet.list(now()) };
    const page = central.fleet.query({ ...query, limit: query.limit ?? MAX_PAGE }, now());
    // The body stays the contract's array; the next page is in the headers.
    const headers: Record<string, string> = page.nextCursor ? { 'x-next-cursor': page.nextCursor, link: `<${nextLink(req.query, page.nextCursor)}>; rel="next"` } : {};
    return { status: 200, body: page.points, headers };
  });
  router.add('GET', '/api/points/:pointId', route('viewer'), (req) => {
    const view = central.fleet.view(req.params.pointId!, now());
    if (!view) throw CentralErrors.noPoint(req.params.pointId!);
    return { status: 200, body: view };
  });
  router.add('GET', '/api/orders/stats', route('viewer'), async () => ({ status: 200, body: await central.orderStats() }));
  router.add('GET', '/api/orders', route('viewer'), async (req) => {
    const query = parseWith(OrdersQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: await central.orders.listOrders(query) };
  });
  const { metricsToken } = central.config.http;
  router.add('GET', '/metrics', route('public'), async (req) => {
    if (metricsToken && !sameSecret(req.headers.authorization ?? '', `Bearer ${metricsToken}`)) throw CentralErrors.metricsToken();
    return { status: 200, text: await central.metrics.registry.metrics(), headers: { 'content-type': central.metrics.registry.contentType } };
  });
  registerIncidentRoutes(router, central.incidents);
}
