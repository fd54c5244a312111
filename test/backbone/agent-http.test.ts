import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import { freePort } from '../peers/net.js';
import { startAgent, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';

interface Issue {
  path: string;
  message: string;
}

describe('agent HTTP API', () => {
  let agent: Agent;
  let port: number;

  beforeAll(async () => {
    // No broker listens there: the box must sell with central unreachable.
    agent = await startAgent(tempDir('http'), 'tbilisi-01', `mqtt://127.0.0.1:${await freePort()}`);
    port = agent.httpPort!;
  });
  afterAll(async () => {
    await agent.stop();
  });

  it('commits an order and answers 201 with the contract fields', async () => {
    const res = await httpJson<Record<string, unknown>>(port, 'POST', '/api/orders', sampleOrder(2));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ number: 'tbilisi-01-000001', total: 150 * 3 + 250, currency: 'GEL', status: 'unsynced', printed: false });
    expect(agent.store.get(res.body.id as string)?.order.total).toBe(700);
  });

  it('makes a retried POST with the same clientRef idempotent', async () => {
    const body = { ...sampleOrder(1), clientRef: 'draft-42' };
    const first = await httpJson<{ id: string }>(port, 'POST', '/api/orders', body);
    const second = await httpJson<{ id: string }>(port, 'POST', '/api/orders', body);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
  });

  it.each([
    ['negative qty', { items: [{ sku: 'tofu', qty: -1 }], payment: 'cash' }, 'items.0'],
    ['fractional qty', { items: [{ sku: 'tofu', qty: 1.5 }], payment: 'cash' }, 'items.0'],
    ['unknown sku', { items: [{ sku: 'caviar', qty: 1 }], payment: 'cash' }, 'items.0.sku'],
    ['non-integer price', { items: [{ name: 'Bread', unitPrice: 2.5, qty: 1 }], payment: 'cash' }, 'items.0'],
    ['no items', { items: [], payment: 'cash' }, 'items'],
    ['10,000 items', { items: Array.from({ length: 10_000 }, () => ({ sku: 'tofu', qty: 1 })), payment: 'cash' }, 'items'],
    ['wrong types', { items: 'tofu', payment: 42 }, 'items'],
    ['unknown payment', { items: [{ sku: 'tofu', qty: 1 }], payment: 'bitcoin' }, 'payment'],
    ['a client-set total', { items: [{ sku: 'tofu', qty: 1 }], payment: 'cash', total: 1 }, '(root)'],
  ])('rejects %s with 400 naming the field, storing nothing', async (_label, body, field) => {
    const before = agent.store.list('all').length;
    const res = await httpJson<{ error: string; issues: Issue[] }>(port, 'POST', '/api/orders', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/invalid/);
    expect(res.body.issues.some((issue) => issue.path.startsWith(field === '(root)' ? '' : field))).toBe(true);
    expect(agent.store.list('all').length).toBe(before);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await httpJson<{ error: string }>(port, 'POST', '/api/orders', '{"items": [');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/not valid JSON/);
  });

  it('serves health, menu and the order list', async () => {
    const health = await httpJson<Record<string, unknown>>(port, 'GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ pointId: 'tbilisi-01', mode: 'offline' });
    expect(health.body.unsynced).toBeGreaterThan(0);
    const menu = await httpJson<{ items: unknown[] }>(port, 'GET', '/api/menu');
    expect(menu.body.items.length).toBeGreaterThan(10);
    const orders = await httpJson<unknown[]>(port, 'GET', '/api/orders?status=unsynced');
    expect(orders.body.length).toBe(agent.store.unsyncedStats().count);
    const bad = await httpJson<{ error: string }>(port, 'GET', '/api/orders?status=maybe');
    expect(bad.status).toBe(400);
  });
});
