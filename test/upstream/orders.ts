import mqtt from 'mqtt';
import { uuidv7 } from '../../lib/uuidv7.js';
import { withTimeout } from '../../lib/timeout.js';
import { OrderRecord, VoidRecord, orderNumber } from '../../sync/schemas.js';
import { topicOf } from '../../sync/protocol.js';
import { centralUserLogin, type BrokerTarget } from '../helpers/logins.js';

/** Valid order records of one point, seq `firstSeq`.. (a sku line and a free-text line each). */
export function makeOrders(pointId: string, count: number, firstSeq = 1): OrderRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = firstSeq + i;
    const items = [
      { sku: 'khinkali-meat', name: 'Khinkali, beef & pork', unitPrice: 150, qty: 1 + (seq % 5), lineTotal: 150 * (1 + (seq % 5)) },
      { sku: null, name: 'Extra bread', unitPrice: 250, qty: 1, lineTotal: 250 },
    ];
    return OrderRecord.parse({
      id: uuidv7(),
      pointId,
      seq,
      number: orderNumber(pointId, seq),
      createdAt: Date.now(),
      items,
      total: items.reduce((sum, item) => sum + item.lineTotal, 0),
      currency: 'GEL',
      payment: seq % 2 ? 'card' : 'cash',
      note: null,
      clientRef: null,
      mode: 'offline',
    });
  });
}

/** A valid void of `order`, approved by the staff, now. */
export function makeVoid(order: OrderRecord, reason: string): VoidRecord {
  return VoidRecord.parse({ id: uuidv7(), orderId: order.id, pointId: order.pointId, orderNumber: order.number, total: order.total, reason, voidedAt: Date.now(), approvedBy: 'staff' });
}

/** Publishes orders on their point's orders topic, as the boxes would (QoS 1, batches of 50 per point); `voids` follow them, each on its point's topic. */
export async function publishOrders(broker: BrokerTarget, orders: readonly OrderRecord[], voids: readonly VoidRecord[] = []): Promise<void> {
  const client = await withTimeout(
    mqtt.connectAsync(broker.url, { clientId: `test-publisher-${uuidv7()}`, reconnectPeriod: 0, ...centralUserLogin(broker) }),
    10_000,
    `MQTT connect to ${broker.url}`,
  );
  try {
    const byPoint = new Map<string, OrderRecord[]>();
    for (const order of orders) byPoint.set(order.pointId, [...(byPoint.get(order.pointId) ?? []), order]);
    for (const [pointId, ofPoint] of byPoint) {
      for (let i = 0; i < ofPoint.length; i += 50) {
        const payload = JSON.stringify({ ts: Date.now(), orders: ofPoint.slice(i, i + 50) });
        await withTimeout(client.publishAsync(topicOf('pointOrders', { pointId: pointId }), payload, { qos: 1 }), 10_000, 'an orders publish');
      }
    }
    for (const record of voids) {
      const payload = JSON.stringify({ ts: Date.now(), voids: [record] });
      await withTimeout(client.publishAsync(topicOf('pointOrders', { pointId: record.pointId }), payload, { qos: 1 }), 10_000, 'a voids publish');
    }
  } finally {
    await client.endAsync();
  }
}
