import { z } from 'zod';
import { HttpError, Router, parseWith } from '../lib/http.js';
import type { OrderRecord } from '../sync/schemas.js';
import type { Agent } from './agent.js';
import { OrderRequest, priceItems } from './orders.js';

const OrdersQuery = z.object({
  status: z.enum(['unsynced', 'synced', 'all']).default('all'),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

/** The `201 {id, number, total, currency, status, printed}` body of a committed order. */
function receipt(agent: Agent, order: OrderRecord, syncedAt: number | null) {
  return {
    id: order.id,
    number: order.number,
    total: order.total,
    currency: order.currency,
    status: syncedAt === null ? 'unsynced' : 'synced',
    printed: agent.receipts?.printed(order.id) ?? false,
  };
}

/** The agent's HTTP API per the public contract. */
export function agentRouter(agent: Agent): Router {
  const router = new Router();
  router.get('/api/health', () => ({ status: 200, body: agent.healthBody() }));
  router.get('/api/menu', () => ({ status: 200, body: agent.menu.menu }));
  router.post('/api/orders', (req) => {
    const request = parseWith(OrderRequest, req.body);
    const priced = priceItems(request, agent.menu.menu);
    if ('issues' in priced) {
      throw new HttpError(400, { error: `invalid order: ${priced.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues: priced.issues });
    }
    const { order, created } = agent.commitOrder({
      items: priced.items,
      payment: request.payment,
      note: request.note ?? null,
      clientRef: request.clientRef ?? null,
      currency: agent.menu.menu.currency,
      mode: agent.health.snapshot().mode,
    });
    const stored = created ? null : agent.store.get(order.id)?.syncedAt ?? null;
    // A retried POST with a known clientRef answers 200 with the order it already saved.
    return { status: created ? 201 : 200, body: receipt(agent, order, stored) };
  });
  router.get('/api/orders', (req) => {
    const query = parseWith(OrdersQuery, Object.fromEntries(req.query), 'query');
    const orders = agent.store.list(query.status, { limit: query.limit });
    return {
      status: 200,
      body: orders.map(({ order, syncedAt }) => ({ ...order, syncedAt, printed: agent.receipts?.printed(order.id) ?? false })),
    };
  });
  router.post('/api/orders/:id/reprint', (req) => {
    const stored = agent.store.get(req.params.id!);
    if (!stored) throw new HttpError(404, { error: `no order ${req.params.id} on this box` });
    if (!agent.receipts) throw new HttpError(409, { error: 'no receipt printer is configured (checks.printer.interface is none)' });
    agent.receipts.reprint(stored.order.id);
    return { status: 202, body: { id: stored.order.id, number: stored.order.number, queued: true } };
  });
  return router;
}
