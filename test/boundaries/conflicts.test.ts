import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, classifyResends, contentDigest } from '../../sync/digest.js';
import { topicOf } from '../../sync/protocol.js';
import { AckMessage, orderNumber, type OrderRecord } from '../../sync/schemas.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { freePort, waitFor } from '../peers/net.js';
import { describeWithPeers } from '../helpers/peers.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { centralUserLogin, embeddedBrokerAt } from '../helpers/logins.js';

function order(pointId: string, seq: number, qty = 1): OrderRecord {
  return {
    id: uuidv7(), pointId, seq, number: orderNumber(pointId, seq), createdAt: Date.now(),
    items: [{ sku: null, name: 'Tea', unitPrice: 400, qty, lineTotal: 400 * qty }], total: 400 * qty, currency: 'GEL',
    payment: 'cash', note: null, clientRef: null, mode: 'offline',
  };
}

describe('content digest and the resend verdict (pure)', () => {
  it('digests ignore key order (a record read back from jsonb) and see every field', () => {
    const a = order('p-01', 1);
    const reordered = Object.fromEntries(Object.entries(a).reverse());
    expect(canonicalJson(reordered)).toBe(canonicalJson(a));
    expect(contentDigest(reordered)).toBe(contentDigest(a));
    expect(contentDigest({ ...a, payment: 'card' })).not.toBe(contentDigest(a));
    expect(contentDigest({ ...a, note: 'x' })).not.toBe(contentDigest(a));
  });

  it('the same content is a duplicate; other content, or no committed version, is a conflict with both digests', () => {
    const a = order('p-01', 1);
    const b = order('p-01', 2);
    const changed = { ...b, items: [{ ...b.items[0]!, qty: 2, lineTotal: 800 }], total: 800 };
    const ghost = order('p-01', 3);
    const verdict = classifyResends([a, changed, ghost], new Map<string, unknown>([[a.id, a], [b.id, b]]));
    expect(verdict.duplicates).toEqual([a.id]);
    expect(verdict.conflicts).toEqual([
      { id: b.id, pointId: 'p-01', committedDigest: contentDigest(b), receivedDigest: contentDigest(changed) },
      { id: ghost.id, pointId: 'p-01', committedDigest: 'missing', receivedDigest: contentDigest(ghost) },
    ]);
  });
});

describeWithPeers('conflicting order content at central ingest', [], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  it('acks the same content again, answers other content as a conflict, keeps the first, counts and raises it', async () => {
    const dir = tempDir('conflict-mqtt');
    const port = await freePort();
    const target = embeddedBrokerAt(join(dir, 'central'), port);
    const central = await startCentral(dir, { brokerPort: port });
    running.push(central);
    const client = await mqtt.connectAsync(target.url, { clientId: `conflict-${Date.now()}`, protocolVersion: 4, ...centralUserLogin(target) });
    running.push({ stop: () => client.endAsync() });
    const acks: AckMessage[] = [];
    client.on('message', (_topic, payload) => acks.push(AckMessage.parse(JSON.parse(payload.toString('utf8')))));
    await client.subscribeAsync(topicOf('pointAcks', { pointId: 'twin-01' }), { qos: 1 });
    const send = (records: OrderRecord[]) => client.publishAsync(topicOf('pointOrders', { pointId: 'twin-01' }), JSON.stringify({ ts: Date.now(), orders: records }), { qos: 1 });

    const first = order('twin-01', 1);
    await send([first]);
    await waitFor(() => acks.length === 1, 'the first ack');
    expect(acks[0]).toMatchObject({ ids: [first.id], conflicts: [] });

    await send([first]);
    await waitFor(() => acks.length === 2, 'the duplicate acked again');
    expect(acks[1]).toMatchObject({ ids: [first.id], conflicts: [] });

    const other = { ...first, items: [{ ...first.items[0]!, qty: 3, lineTotal: 1200 }], total: 1200, payment: 'card' as const };
    const fresh = order('twin-01', 2);
    await send([other, fresh]);
    await waitFor(() => acks.length === 3, 'the answer to the conflicting version');
    expect(acks[2]).toMatchObject({ ids: [fresh.id], conflicts: [first.id] });

    const kept = central.store.listOrders({ pointId: 'twin-01', limit: 10 });
    expect(kept.map((o) => [o.id, o.total])).toEqual([[first.id, 400], [fresh.id, 400]]);
    const incident = central.incidents.openFor('point:twin-01:order-conflict');
    expect(incident?.detail).toContain(contentDigest(first));
    expect(incident?.detail).toContain(contentDigest(other));
    const metrics = await central.metrics.registry.getSingleMetricAsString('hotpot_orders_ingested_total');
    expect(metrics).toMatch(/result="conflict"} 1/);
    expect(metrics).toMatch(/result="duplicate"} 1/);
  });

  it('the box marks its order "conflict" (staff API and /api/health), never synced, and stops sending it', async () => {
    const dir = tempDir('conflict-box');
    const port = await freePort();
    const target = embeddedBrokerAt(join(dir, 'central'), port);
    // The box takes an order while central is away.
    const offline = await startAgent(dir, 'twin-02', target);
    const taken = await httpJson<{ id: string }>(offline.httpPort!, 'POST', '/api/orders', sampleOrder(1));
    expect(taken.status).toBe(201);
    const record = offline.store.get(taken.body.id)!.order;
    await offline.stop();
    // Central already holds another version under that id (a restored box, a cloned SD card).
    const central = await startCentral(dir, { brokerPort: port });
    running.push(central);
    await central.orders.commitOrders([{ ...record, payment: record.payment === 'cash' ? 'card' : 'cash' }], Date.now());

    const agent = await startAgent(dir, 'twin-02', target);
    running.push(agent);
    await waitFor(() => agent.store.get(record.id)?.conflictAt != null, 'the order marked conflict on the box', 20_000);
    expect(agent.store.get(record.id)!.syncedAt).toBeNull();
    const listed = await httpJson<{ id: string; sync: string }[]>(agent.httpPort!, 'GET', '/api/orders');
    expect(listed.body.find((o) => o.id === record.id)?.sync).toBe('conflict');
    const health = await httpJson<{ unsynced: number; conflicts: number }>(agent.httpPort!, 'GET', '/api/health');
    expect(health.body).toMatchObject({ unsynced: 0, conflicts: 1 });
    expect(agent.outbox.inFlightCount).toBe(0);
    expect(central.incidents.openFor('point:twin-02:order-conflict')).not.toBeNull();
  });
});
