import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { localDate } from '../../sync/day-summary.js';
import type { DaySummary } from '../../sync/schemas.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';

const POINT = 'kutaisi-03';
const ZONE = 'Asia/Tbilisi';

interface Receipt {
  id: string;
  number: string;
  takenAt: number;
  error: string;
  code: string;
  issues?: { path: string }[];
}

/** Orders a tablet kept while the box was away (`deviceTag` + `deviceSeq`): a real agent syncing to a real central. */
describe('tablet orders: the tablet numbers them, the box keeps the number, each once', () => {
  let central: Central;
  let agent: Agent;
  const post = (body: unknown) => httpJson<Receipt>(agent.httpPort!, 'POST', '/api/orders', body);
  const tablet = (seq: number, extra: Record<string, unknown> = {}) => ({ ...sampleOrder(seq), deviceTag: 'k3x9', deviceSeq: seq, clientRef: `k3x9-${seq}`, ...extra });

  beforeAll(async () => {
    const dir = tempDir('tablet-orders');
    central = await startCentral(dir);
    agent = await startAgent(dir, POINT, brokerOf(central), { pins: { manager: '4321' }, timeZone: ZONE });
  });
  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
  });

  it("keeps the tablet's number and real time; an hour-old tablet order needs no manager PIN", async () => {
    const takenAt = Date.now() - 60 * 60_000;
    const first = await post(tablet(1, { takenAt }));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ number: `${POINT}-k3x9-1`, takenAt });
    const again = await post(tablet(1, { takenAt }));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // A box order between tablet orders keeps the box's own numbering.
    const boxOrder = await post(sampleOrder(2));
    expect(boxOrder.body.number).toBe(`${POINT}-000002`);
    expect((await post(tablet(2, { takenAt: takenAt + 1000 }))).body.number).toBe(`${POINT}-k3x9-2`);
  });

  it('refuses past limits.lateEntryMaxHours, a taken number under another clientRef, and bad tags, changing nothing', async () => {
    const count = agent.store.list('all').length;
    const old = await post(tablet(3, { takenAt: Date.now() - 73 * 3_600_000 }));
    expect(old.status).toBe(400);
    expect(old.body.code).toBe('taken_at_too_old');
    const taken = await post(tablet(1, { clientRef: 'another-tablet-1' }));
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('number_taken');
    for (const [extra, path] of [
      [{ deviceTag: 'Bad-Tag' }, 'deviceTag'],
      [{ deviceTag: 'abcdefghi' }, 'deviceTag'],
      [{ deviceSeq: 0 }, 'deviceSeq'],
      [{ deviceSeq: undefined }, 'deviceSeq'],
      [{ clientRef: undefined }, 'clientRef'],
    ] as const) {
      const res = await post(tablet(4, extra));
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.body.issues?.some((issue) => issue.path === path)).toBe(true);
    }
    expect(agent.store.list('all').length).toBe(count);
  });

  it('syncs the tablet numbers to central, whose day has no gaps and no duplicates', async () => {
    const today = localDate(Date.now(), ZONE);
    await waitFor(async () => {
      const day = (await httpJson<{ status: string; central: DaySummary }>(central.httpPort!, 'GET', `/api/reconciliation?pointId=${POINT}&date=${today}`)).body;
      return day.central?.count === 3;
    }, 'central to hold the 3 orders', 20_000);
    const orders = (await httpJson<{ number: string }[]>(central.httpPort!, 'GET', `/api/orders?pointId=${POINT}`)).body;
    expect(orders.map((o) => o.number).sort()).toEqual([`${POINT}-000002`, `${POINT}-k3x9-1`, `${POINT}-k3x9-2`]);
    const box = (await httpJson<DaySummary>(agent.httpPort!, 'GET', `/api/reconciliation?date=${today}`)).body;
    expect(box).toMatchObject({ count: 3, missing: 0, duplicateSeqs: 0, firstNumber: `${POINT}-k3x9-1`, lastNumber: `${POINT}-k3x9-2` });
  });
});
