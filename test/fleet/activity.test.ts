import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { silentPoints, usualOrders } from '../../central/activity/index.js';
import { topicOf } from '../../sync/protocol.js';
import { waitFor } from '../peers/net.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { makeOrders } from '../upstream/orders.js';
import { HandPublisher, healthFor, nextHealthRead, startFleetCentral } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const WEEK = 7 * 24 * HOUR;

describe('activity rule (pure)', () => {
  const rule = { weeks: 4, busyMedian: 3, silentAfter: 30 * MIN };
  const now = 1000 * WEEK + 12 * HOUR + 40 * MIN;
  const hours = (counts: number[]) => new Map(counts.map((count, i) => [Math.floor((now - (i + 1) * WEEK) / HOUR) * HOUR, count]));

  it('takes the median of the same hour of the week over the past weeks (missing weeks are 0)', () => {
    expect(usualOrders(hours([5, 1, 9, 4]), now, 4)).toEqual({ median: 4.5, samples: [5, 1, 9, 4] });
    expect(usualOrders(hours([5, 6]), now, 4).median).toBe(2.5);
    expect(usualOrders(undefined, now, 4).median).toBe(0);
  });

  it('flags only points online, usually busy at this hour and quiet for long enough', () => {
    const history = new Map([
      ['busy', hours([5, 6, 7, 8])],
      ['quiet', hours([0, 1, 0, 2])],
    ]);
    const point = (pointId: string, online: boolean, quietFor: number) => ({ pointId, online, quietSince: now - quietFor });
    expect(silentPoints([point('busy', true, 31 * MIN), point('quiet', true, 5 * HOUR)], history, now, rule)).toEqual([{ pointId: 'busy', usual: 6.5, quietForMs: 31 * MIN }]);
    expect(silentPoints([point('busy', true, 29 * MIN)], history, now, rule)).toEqual([]);
    expect(silentPoints([point('busy', false, 5 * HOUR)], history, now, rule)).toEqual([]);
  });
});

describe('activity at central: orders per hour and a busy point gone quiet (real store, embedded broker, hand-moved clock)', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  it('opens activity:<point>:silent after 30 min without orders at a usually busy hour, clears on the next order; API and /metrics count per hour', async () => {
    const clock = new ManualClock(Math.floor(Date.now() / HOUR) * HOUR + 10 * MIN);
    const central = await startFleetCentral(tempDir('activity'), {
      clock,
      extra: { fleet: { staleAfterMs: 24 * 60 * MIN }, activity: { every: 100, busyMedian: 3, silentAfter: '30m' } },
    });
    running.push(central);
    const hand = await HandPublisher.connect(brokerOf(central));
    running.push({ stop: () => hand.close() });

    // Four past weeks: gori-01 took 4, 5, 3 and 6 orders in this hour of the week; tsnori-01 one a week.
    let seq = 1;
    const past = (pointId: string, perWeek: number[]) =>
      perWeek.flatMap((count, week) => makeOrders(pointId, count, (seq += 100)).map((order, i) => ({ ...order, createdAt: clock.now() - (week + 1) * WEEK + i * MIN })));
    central.store.commitOrders([...past('gori-01', [4, 5, 3, 6]), ...past('tsnori-01', [1, 1, 1, 1])], clock.now());

    for (const pointId of ['gori-01', 'tsnori-01']) {
      const read = nextHealthRead(central, pointId);
      await hand.status(pointId, true, 1, clock.now());
      await hand.health(healthFor(pointId, clock.now()));
      await read;
    }
    const key = 'activity:gori-01:silent';
    clock.advance(29 * MIN);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(central.incidents.openFor(key)).toBeNull();

    clock.advance(2 * MIN);
    await waitFor(() => central.incidents.openFor(key) !== null, 'the silent incident');
    expect(central.incidents.openFor(key)).toMatchObject({ severity: 'minor', pointId: 'gori-01', title: 'gori-01: no orders for 31 min at a usually busy hour' });
    expect(central.incidents.openFor('activity:tsnori-01:silent')).toBeNull();

    const activity = await httpJson<{ points: { pointId: string; usual: number; silent: boolean }[] }>(central.httpPort!, 'GET', '/api/activity?hours=1');
    expect(activity.body.points.find((p) => p.pointId === 'gori-01')).toMatchObject({ usual: 4.5, silent: true });
    const metrics = (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body;
    expect(metrics).toContain('hotpot_point_activity_silent{point="gori-01"} 1');
    expect(metrics).toContain('hotpot_point_orders_usual{point="gori-01"} 4.5');

    // The next order, through the broker and central's ingest, clears it at once.
    const [order] = makeOrders('gori-01', 1, 10_000).map((o) => ({ ...o, createdAt: clock.now() }));
    await hand.raw(topicOf('pointOrders', { pointId: 'gori-01' }), JSON.stringify({ ts: clock.now(), orders: [order] }));
    await waitFor(() => central.incidents.openFor(key) === null, 'the silent incident cleared by an order');
    await waitFor(async () => (await httpJson<string>(central.httpPort!, 'GET', '/metrics')).body.includes('hotpot_point_orders_this_hour{point="gori-01"} 1'), 'the order counted this hour');
    const counts = await httpJson<{ counts: { pointId: string; count: number }[] }>(central.httpPort!, 'GET', '/api/activity?hours=1&pointId=gori-01');
    expect(counts.body.counts).toEqual([{ pointId: 'gori-01', hour: Math.floor(clock.now() / HOUR) * HOUR, count: 1 }]);
    expect((await httpJson(central.httpPort!, 'GET', '/api/activity?hours=0')).status).toBe(400);
  });
});
