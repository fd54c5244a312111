import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { repeatedVoid, voidApprover } from '../../agent/voids.js';
import { summarizeDay, dayDifferences } from '../../sync/day-summary.js';
import type { VoidRecord } from '../../sync/schemas.js';
import { freePort, waitFor } from '../peers/net.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { startAgent, sampleOrder } from '../helpers/inproc.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';

interface Listed {
  id: string;
  number: string;
  voidedAt: number | null;
  voidReason: string | null;
}

describe('void decisions (pure)', () => {
  it('lets the staff void within the window and asks the manager after it', () => {
    expect(voidApprover(1_000_000, 1_000_000 + 5 * 60_000, 5)).toBe('staff');
    expect(voidApprover(1_000_000, 1_000_000 + 5 * 60_000 + 1, 5)).toBe('manager');
    expect(voidApprover(1_000_000, 1_000_001, 0)).toBe('manager');
  });

  it('answers a repeat with the same reason 200 and with another 409', () => {
    const existing = { reason: 'wrong dish' } as VoidRecord;
    expect(repeatedVoid(existing, 'wrong dish').status).toBe(200);
    expect(repeatedVoid(existing, 'customer left').status).toBe(409);
  });

  it('day summaries carry gross, voids and net, and differ on them', () => {
    const scope = { pointId: 'gori-01', date: '2025-03-01', timeZone: 'Asia/Tbilisi' };
    const orders = [
      { seq: 1, total: 1000, payment: 'cash' as const, synced: true },
      { seq: 2, total: 700, payment: 'card' as const, synced: true, voided: true },
      { seq: 3, total: 300, payment: 'cash' as const, synced: true },
    ];
    const box = summarizeDay(scope, orders);
    expect(box).toMatchObject({ count: 3, total: 2000, gross: 2000, voids: { count: 1, sum: 700 }, net: 1300 });
    const central = summarizeDay(scope, orders.map((order) => ({ ...order, voided: false })));
    expect(dayDifferences(box, central)).toEqual(['voids: box 1, central 0', 'voided sum: box 7.00, central 0.00', 'net: box 13.00, central 20.00']);
  });
});

describe('POST /api/orders/:id/void on the agent', () => {
  let agent: Agent;
  let strict: Agent;
  let noManager: Agent;

  beforeAll(async () => {
    const nowhere = `mqtt://127.0.0.1:${await freePort()}`;
    const dir = tempDir('voids');
    agent = await startAgent(dir, 'gori-01', nowhere, { pins: { manager: '2468' } });
    // Every void needs the manager here: the window is 0 minutes.
    strict = await startAgent(dir, 'gori-02', nowhere, { pins: { manager: '2468' }, limits: { voidWithoutPinMinutes: 0 } });
    noManager = await startAgent(dir, 'gori-03', nowhere, { limits: { voidWithoutPinMinutes: 0 } });
  });
  afterAll(async () => {
    for (const running of [agent, strict, noManager]) await running?.stop();
  });

  async function order(on: Agent): Promise<{ id: string; number: string }> {
    const res = await httpJson<{ id: string; number: string }>(on.httpPort!, 'POST', '/api/orders', sampleOrder(1));
    expect(res.status).toBe(201);
    return res.body;
  }

  it('commits a void (201), lists it on the order, counts it unsynced, and answers repeats 200 / 409', async () => {
    const { id } = await order(agent);
    const before = agent.store.unsyncedStats().count;
    const first = await httpJson<VoidRecord>(agent.httpPort!, 'POST', `/api/orders/${id}/void`, { reason: ' wrong dish ' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ orderId: id, pointId: 'gori-01', reason: 'wrong dish', approvedBy: 'staff', total: 550 });
    expect(first.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(agent.store.unsyncedStats().count).toBe(before + 1);
    const health = await httpJson<{ unsynced: number }>(agent.httpPort!, 'GET', '/api/health');
    expect(health.body.unsynced).toBe(before + 1);

    const again = await httpJson<VoidRecord>(agent.httpPort!, 'POST', `/api/orders/${id}/void`, { reason: 'wrong dish' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const other = await httpJson<{ code: string }>(agent.httpPort!, 'POST', `/api/orders/${id}/void`, { reason: 'customer left' });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('already_voided');
    expect(agent.store.unsyncedStats().count).toBe(before + 1);

    const listed = await httpJson<Listed[]>(agent.httpPort!, 'GET', '/api/orders');
    expect(listed.body.find((row) => row.id === id)).toMatchObject({ voidedAt: first.body.voidedAt, voidReason: 'wrong dish' });
    expect(listed.body.filter((row) => row.id !== id).every((row) => row.voidedAt === null && row.voidReason === null)).toBe(true);
    const day = await httpJson<{ gross: number; voids: { count: number; sum: number }; net: number }>(agent.httpPort!, 'GET', '/api/reconciliation');
    expect(day.body.voids.count).toBe(1);
    expect(day.body.net).toBe(day.body.gross - 550);
  });

  it('answers 404 for an unknown order and 400 without a reason, changing nothing', async () => {
    const { id } = await order(agent);
    const unknown = await httpJson<{ code: string }>(agent.httpPort!, 'POST', '/api/orders/0190f000-0000-7000-8000-000000000000/void', { reason: 'x' });
    expect(unknown.status).toBe(404);
    for (const body of [{}, { reason: '   ' }, { reason: 'ok', extra: 1 }]) {
      const bad = await httpJson<{ error: string }>(agent.httpPort!, 'POST', `/api/orders/${id}/void`, body);
      expect(bad.status).toBe(400);
    }
    expect((await httpJson<{ error: string }>(agent.httpPort!, 'POST', `/api/orders/${id}/void`, {})).body.error).toMatch(/reason/);
    expect(agent.store.get(id)!.void).toBeNull();
  });

  it('past limits.voidWithoutPinMinutes needs the manager PIN, and is refused without pins.manager', async () => {
    const { id } = await order(strict);
    await waitFor(() => Date.now() > strict.store.get(id)!.order.createdAt, 'the clock to move past the order');
    const without = await httpJson<{ code: string }>(strict.httpPort!, 'POST', `/api/orders/${id}/void`, { reason: 'rang twice' });
    expect(without.status).toBe(403);
    expect(without.body.code).toBe('manager_pin_required');
    expect((await httpJson(strict.httpPort!, 'POST', `/api/orders/${id}/void`, { reason: 'rang twice', managerPin: '1111' })).status).toBe(403);
    const approved = await httpJson<VoidRecord>(strict.httpPort!, 'POST', `/api/orders/${id}/void`, { reason: 'rang twice', managerPin: '2468' });
    expect(approved.status).toBe(201);
    expect(approved.body.approvedBy).toBe('manager');

    const other = await order(noManager);
    await waitFor(() => Date.now() > noManager.store.get(other.id)!.order.createdAt, 'the clock to move past the order');
    const refused = await httpJson<{ code: string }>(noManager.httpPort!, 'POST', `/api/orders/${other.id}/void`, { reason: 'rang twice', managerPin: '2468' });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('no_manager_pin');
  });
});

describe('void paper: a slip on the receipt printer and "VOID" on the kitchen printer', () => {
  const receipts = new PrinterEmulator();
  const kitchen = new PrinterEmulator();
  let agent: HotpotProcess | undefined;

  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await receipts.close();
    await kitchen.close();
  });

  beforeAll(async () => {
    const dir = tempDir('void-paper');
    agent = await startHotpot('agent', {
      HOTPOT_POINT_ID: 'gori-04',
      HOTPOT_DATA_DIR: join(dir, 'agent'),
      HOTPOT_MQTT_URL: `mqtt://127.0.0.1:${await freePort()}`,
      HOTPOT_HTTP_PORT: '0',
      HOTPOT_MENU_FILE: sampleMenuFile(),
      HOTPOT_CHECKS_PRINTER_INTERFACE: await receipts.listenTcp(),
      HOTPOT_KITCHEN_PRINTER: await kitchen.listenTcp(),
    });
  });

  it('prints each once, after the order', async () => {
    const placed = await httpJson<{ id: string; number: string }>(agent!.httpPort, 'POST', '/api/orders', sampleOrder(3));
    expect(placed.status).toBe(201);
    expect((await httpJson(agent!.httpPort, 'POST', `/api/orders/${placed.body.id}/void`, { reason: 'wrong table' })).status).toBe(201);
    await waitFor(() => receipts.receipts.length >= 2 && kitchen.receipts.length >= 2, 'the receipt, the void slip and both kitchen tickets', 20_000);
    const slip = receipts.receipts[1]!.text;
    expect(slip).toContain('VOID');
    expect(slip).toContain(placed.body.number);
    expect(slip).toContain('Reason: wrong table');
    expect(kitchen.receipts[1]!.text).toContain('KITCHEN: VOID');
    expect(kitchen.receipts[1]!.text).toContain(placed.body.number);
    // Printed state stays the order's receipt's: the slip does not count as it.
    const listed = await httpJson<{ id: string; printed: boolean }[]>(agent!.httpPort, 'GET', '/api/orders');
    expect(listed.body[0]).toMatchObject({ id: placed.body.id, printed: true });
  });
});
