import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import { OrderStore } from '../../agent/store.js';
import { DayReporter } from '../../agent/reconciliation.js';
import type { Central } from '../../central/central.js';
import type { Incident } from '../../central/incidents/index.js';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { withTimeout } from '../../lib/timeout.js';
import { MqttLink } from '../../sync/mqtt.js';
import { topicOf } from '../../sync/protocol.js';
import { localDate, shiftDate, summarizeDay } from '../../sync/day-summary.js';
import type { DaySummary, OrderRecord } from '../../sync/schemas.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { waitFor } from '../peers/net.js';
import { brokerOf, centralUserLogin } from '../helpers/logins.js';

interface CentralDay {
  status: string;
  differences: string[];
  central: DaySummary;
  box: DaySummary | null;
}

const POINT = 'tbilisi-01';
const KEY = `point:${POINT}:reconciliation`;

describe('end-of-day reconciliation, box and central', () => {
  let dir: string;
  let central: Central;
  let agent: Agent;

  beforeAll(async () => {
    dir = tempDir('reconciliation');
    central = await startCentral(dir);
    agent = await startAgent(dir, POINT, brokerOf(central));
  });
  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
  });

  const centralDay = async () => (await httpJson<CentralDay>(central.httpPort!, 'GET', `/api/reconciliation?pointId=${POINT}`)).body;
  const boxDay = async () => (await httpJson<DaySummary>(agent.httpPort!, 'GET', '/api/reconciliation')).body;
  const openIncident = async () =>
    (await httpJson<Incident[]>(central.httpPort!, 'GET', `/api/incidents?status=open&pointId=${POINT}`)).body.find((incident) => incident.key === KEY);
  async function sell(i: number): Promise<string> {
    const res = await httpJson<{ id: string }>(agent.httpPort!, 'POST', '/api/orders', sampleOrder(i));
    expect(res.status).toBe(201);
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'the order to sync', 20_000);
    return res.body.id;
  }

  it('the box reports its day; central counts the same from what it received and agrees', async () => {
    for (let i = 1; i <= 3; i++) await sell(i);
    await waitFor(async () => (await centralDay()).status === 'match' && (await centralDay()).box?.count === 3, 'central to confirm the day', 20_000);
    const box = await boxDay();
    const day = await centralDay();
    expect(box).toMatchObject({ pointId: POINT, date: localDate(Date.now(), 'Asia/Tbilisi'), count: 3, firstNumber: `${POINT}-000001`, lastNumber: `${POINT}-000003`, gaps: [], unsynced: 0 });
    expect(box.total).toBe(3 * 250 + 150 * (2 + 3 + 4));
    const { unsynced: _boxUnsynced, ...boxCounts } = box;
    const { unsynced: _centralUnsynced, ...centralCounts } = day.central;
    expect(centralCounts).toEqual(boxCounts);
    expect(day.box).toEqual(box);
    expect(await openIncident()).toBeUndefined();
  });

  it('raises a mismatch incident when central lost an order, and clears it once they agree again', async () => {
    const lost = JSON.parse(
      central.store.db.prepare<[string], { record: string }>('SELECT record FROM orders WHERE number = ?').get(`${POINT}-000002`)!.record,
    ) as OrderRecord;
    // Central loses one committed order (say, its database came back from an older backup).
    central.store.db.prepare('DELETE FROM orders WHERE id = ?').run(lost.id);
    await sell(4);
    await waitFor(async () => (await openIncident()) !== undefined, 'the mismatch incident', 20_000);
    const incident = (await openIncident())!;
    expect(incident).toMatchObject({ severity: 'major', pointId: POINT });
    expect(incident.detail).toContain('orders: box 4, central 3');
    expect(incident.detail).toContain('sequence gaps: box none, central 2');
    const day = await centralDay();
    expect(day.status).toBe('mismatch');
    expect(day.central.gaps).toEqual([{ from: 2, to: 2 }]);

    // The lost order is restored; the box's next summary finds the day whole again.
    await central.orders.commitOrders([lost], Date.now());
    await sell(5);
    await waitFor(async () => (await openIncident()) === undefined, 'the mismatch incident to clear', 20_000);
    expect((await centralDay()).status).toBe('match');
  });

  it('ignores bad or foreign day summaries, counting them, without changing its verdict', async () => {
    const client = await withTimeout(mqtt.connectAsync(central.brokerUrl, { clientId: 'test-hostile-day', reconnectPeriod: 0, ...centralUserLogin(brokerOf(central)) }), 10_000, 'MQTT connect');
    try {
      const foreign = { ...summarizeDay({ pointId: 'batumi-01', date: localDate(Date.now(), 'Asia/Tbilisi'), timeZone: 'Asia/Tbilisi' }, []), unsynced: 0 };
      await client.publishAsync(topicOf('pointDay', { pointId: POINT }), 'not json', { qos: 1 });
      await client.publishAsync(topicOf('pointDay', { pointId: POINT }), JSON.stringify({ ts: Date.now(), pointId: POINT, days: [foreign] }), { qos: 1 });
      await client.publishAsync(topicOf('pointDay', { pointId: POINT }), JSON.stringify({ ts: Date.now(), pointId: POINT, days: [{ ...foreign, pointId: POINT, count: -1 }] }), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    await waitFor(
      async () => {
        const metrics = (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body;
        return /hotpot_mqtt_rejected_total\{reason="point_mismatch"\} [1-9]/.test(metrics) && /hotpot_mqtt_rejected_total\{reason="bad_schema"\} [1-9]/.test(metrics);
      },
      'the bad day summaries to be counted',
      10_000,
    );
    expect((await centralDay()).status).toBe('match');
    expect((await centralDay()).box?.count).toBe(5);
  });
});

describe('which days the box reports', () => {
  const DAY = 86_400_000;

  it('yesterday and today, plus every day back to the oldest unsynced order, until the report after it synced', async () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 10, 12));
    const store = new OrderStore(`${tempDir('day-reporter')}/agent.db`, POINT);
    const link = new MqttLink({ url: 'mqtt://127.0.0.1:1', clientId: 'unused', keepaliveSeconds: 10, clean: true, log: silentLogger() });
    const reporter = new DayReporter({ store, link, pointId: POINT, timeZone: 'Asia/Tbilisi', clock, log: silentLogger() });
    const today = localDate(clock.now(), 'Asia/Tbilisi');
    const dates = () => reporter.days().summaries.map((summary) => summary.date);
    try {
      expect(dates()).toEqual([shiftDate(today, -1), today]);
      const item = { sku: 'khinkali-meat', name: 'Khinkali', unitPrice: 150, qty: 2, lineTotal: 300 };
      const old = store.addOrder({ items: [item], payment: 'cash', note: null, clientRef: null, currency: 'GEL', mode: 'offline' }, clock.now() - 4 * DAY);
      expect(dates()).toEqual([-4, -3, -2, -1, 0].map((d) => shiftDate(today, d)));
      expect(reporter.days().pendingFrom).toBe(shiftDate(today, -4));
      expect(reporter.days().summaries[0]).toMatchObject({ count: 1, total: 300, unsynced: 1 });
      // Synced after a report that still saw it pending: the next report must still carry that day, now final.
      store.setMeta('reconciliation.pendingFrom', shiftDate(today, -4));
      store.markSynced([old.order.id]);
      expect(dates()[0]).toBe(shiftDate(today, -4));
      expect(reporter.days().summaries[0]).toMatchObject({ count: 1, unsynced: 0 });
      expect(reporter.days().pendingFrom).toBeNull();
    } finally {
      store.close();
    }
  });
});
