import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { dayWindow, localDate, shiftDate } from '../../sync/day-summary.js';
import type { DaySummary } from '../../sync/schemas.js';
import { startAgent, startCentral, sampleOrder } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { waitFor } from '../peers/net.js';

const POINT = 'batumi-02';
const PIN = '4321';
const ZONE = 'Asia/Tbilisi';

interface Receipt {
  id: string;
  number: string;
  createdAt: number;
  takenAt: number;
}
interface CentralDay {
  status: string;
  central: DaySummary;
  box: DaySummary | null;
}

/** Late entry (`takenAt` on POST /api/orders): a real agent syncing to a real central (embedded broker). */
describe('late entry: orders taken on paper keep their time and their day', () => {
  let central: Central;
  let agent: Agent;
  const order = (takenAt: number | undefined, extra: Record<string, unknown> = {}) => ({ ...sampleOrder(1), ...(takenAt === undefined ? {} : { takenAt }), ...extra });
  const post = (body: unknown) => httpJson<Receipt & { error: string; code: string; issues?: { path: string }[] }>(agent.httpPort!, 'POST', '/api/orders', body);
  const centralDay = async (date: string) => (await httpJson<CentralDay>(central.httpPort!, 'GET', `/api/reconciliation?pointId=${POINT}&date=${date}`)).body;

  beforeAll(async () => {
    const dir = tempDir('late-entry');
    central = await startCentral(dir);
    agent = await startAgent(dir, POINT, brokerOf(central), { pins: { manager: PIN }, timeZone: ZONE });
  });
  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
  });

  it('keeps a recent takenAt without a PIN and returns it beside createdAt', async () => {
    const takenAt = Date.now() - 10 * 60_000;
    const res = await post(order(takenAt));
    expect(res.status).toBe(201);
    expect(res.body.takenAt).toBe(takenAt);
    expect(res.body.createdAt).toBeGreaterThan(takenAt);
    const listed = (await httpJson<Receipt[]>(agent.httpPort!, 'GET', '/api/orders')).body.find((o) => o.id === res.body.id)!;
    expect(listed).toMatchObject({ takenAt, createdAt: res.body.createdAt });
  });

  it('takes up to 2 minutes ahead as now, and refuses later with 400 naming takenAt', async () => {
    const before = Date.now();
    const ahead = await post(order(before + 60_000));
    expect(ahead.status).toBe(201);
    expect(ahead.body.takenAt).toBeLessThanOrEqual(Date.now());
    expect(ahead.body.takenAt).toBeGreaterThanOrEqual(before);
    const count = agent.store.list('all').length;
    const future = await post(order(Date.now() + 5 * 60_000));
    expect(future.status).toBe(400);
    expect(future.body.code).toBe('taken_at_future');
    expect(future.body.issues?.[0]?.path).toBe('takenAt');
    const bad = await post(order(undefined, { takenAt: 'yesterday' }));
    expect(bad.status).toBe(400);
    expect(bad.body.issues?.some((issue) => issue.path === 'takenAt')).toBe(true);
    expect(agent.store.list('all').length).toBe(count);
  });

  it('needs the manager PIN past limits.lateEntryMinutes and refuses past limits.lateEntryMaxHours', async () => {
    const count = agent.store.list('all').length;
    const hourAgo = Date.now() - 60 * 60_000;
    const noPin = await post(order(hourAgo));
    expect(noPin.status).toBe(403);
    expect(noPin.body.code).toBe('manager_pin_required');
    const wrong = await post(order(hourAgo, { managerPin: '0000' }));
    expect(wrong.status).toBe(403);
    const tooOld = await post(order(Date.now() - 73 * 3_600_000, { managerPin: PIN }));
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.code).toBe('taken_at_too_old');
    expect(agent.store.list('all').length).toBe(count);
    const approved = await post(order(hourAgo, { managerPin: PIN }));
    expect(approved.status).toBe(201);
    expect(approved.body.takenAt).toBe(hourAgo);
  });

  it('counts a late entry on the day it was taken and re-opens that day at central once it was reconciled', async () => {
    const today = localDate(Date.now(), ZONE);
    const yesterday = shiftDate(today, -1);
    // The box reports yesterday (empty) and central agrees: the day is reconciled.
    await waitFor(async () => (await centralDay(yesterday)).status === 'match', 'central to reconcile yesterday', 20_000);
    expect((await centralDay(yesterday)).box?.count).toBe(0);
    const takenAt = dayWindow(yesterday, ZONE).from + 20 * 3_600_000;
    const late = await post(order(takenAt, { managerPin: PIN, clientRef: 'paper-17' }));
    expect(late.status).toBe(201);
    const boxYesterday = (await httpJson<DaySummary>(agent.httpPort!, 'GET', `/api/reconciliation?date=${yesterday}`)).body;
    expect(boxYesterday).toMatchObject({ count: 1, firstNumber: late.body.number, lastNumber: late.body.number });
    const byDate = (await httpJson<Receipt[]>(agent.httpPort!, 'GET', `/api/orders?date=${yesterday}`)).body;
    expect(byDate.map((o) => o.id)).toEqual([late.body.id]);
    // Synced, the day is judged again with the late order in it on both sides.
    await waitFor(async () => {
      const day = await centralDay(yesterday);
      return day.status === 'match' && day.box?.count === 1 && day.central.count === 1;
    }, 'central to re-check yesterday with the late entry', 20_000);
    expect((await centralDay(today)).central.count).toBe(3);
    // A retried delivery of the same paper order (same clientRef) changes nothing, even later.
    const again = await post(order(takenAt, { clientRef: 'paper-17' }));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(late.body.id);
  });
});
