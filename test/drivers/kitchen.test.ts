import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleMenuFile } from '../../lib/paths.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';

interface Health {
  paper: { kitchen: { reason: string; queued: number } | null };
}

/** The order numbers on the kitchen tickets printed so far, in paper order. */
function ticketNumbers(printer: PrinterEmulator): string[] {
  return printer.receipts.map((ticket) => /Order (\S+)/.exec(ticket.text)?.[1] ?? '?');
}

describe('kitchen tickets: each order once, queued on disk, across a kill -9 of the agent', () => {
  const kitchen = new PrinterEmulator();
  let dir: string;
  let env: Record<string, string>;
  let agent: HotpotProcess | undefined;

  beforeAll(async () => {
    dir = tempDir('kitchen');
    const address = await kitchen.listenTcp();
    env = {
      HOTPOT_POINT_ID: 'kutaisi-02',
      HOTPOT_DATA_DIR: join(dir, 'agent'),
      HOTPOT_MQTT_URL: `mqtt://127.0.0.1:${await freePort()}`,
      HOTPOT_HTTP_PORT: '0',
      HOTPOT_MENU_FILE: sampleMenuFile(),
      HOTPOT_KITCHEN_PRINTER: address,
    };
  });

  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await kitchen.close();
  });

  async function placeOrder(sku: string): Promise<string> {
    const answer = await httpJson<{ number: string }>(agent!.httpPort, 'POST', '/api/orders', { items: [{ sku, qty: 2 }], payment: 'cash', note: 'no coriander' });
    expect(answer.status).toBe(201);
    return answer.body.number;
  }

  it('queues tickets while the kitchen printer is out of paper, keeps them through a kill -9, and prints each once', async () => {
    kitchen.set({ paperEnd: true });
    agent = await startHotpot('agent', env);
    const first = await placeOrder('khinkali-meat');
    const second = await placeOrder('broth-sichuan');
    await waitFor(
      async () => (await httpJson<Health>(agent!.httpPort, 'GET', '/api/health')).body.paper.kitchen?.queued === 2,
      'both tickets to wait for the kitchen printer',
      15_000,
    );
    expect(kitchen.receipts).toHaveLength(0);

    process.kill(agent.pid, 'SIGKILL');
    await agent.exited;
    kitchen.set({});
    agent = await startHotpot('agent', env);
    await waitFor(() => kitchen.receipts.length >= 2, 'the two waiting tickets after the restart', 20_000);

    // A third order, after another (clean) restart: the queue is first in, first out, so a
    // doubled ticket of the first two would print before it.
    await agent.kill('SIGTERM');
    agent = await startHotpot('agent', env);
    const third = await placeOrder('tofu');
    await waitFor(() => ticketNumbers(kitchen).includes(third), 'the third ticket', 20_000);
    expect(ticketNumbers(kitchen)).toEqual([first, second, third]);

    const [ticket] = kitchen.receipts;
    expect(ticket!.lines[0]).toBe('KITCHEN');
    expect(ticket!.text).toContain('2 x Khinkali, beef & pork');
    expect(ticket!.text).toContain('Note: no coriander');
    // No prices, no QR on a kitchen ticket.
    expect(ticket!.text).not.toMatch(/GEL/);
    expect(ticket!.qr).toEqual([]);
  });

  it('a ticket printed just before a kill -9 is not printed again', async () => {
    const fourth = await placeOrder('udon');
    await waitFor(() => ticketNumbers(kitchen).includes(fourth), 'the fourth ticket', 20_000);
    await waitFor(async () => (await httpJson<Health>(agent!.httpPort, 'GET', '/api/health')).body.paper.kitchen === null, 'the kitchen queue to be idle', 10_000);
    process.kill(agent!.pid, 'SIGKILL');
    await agent!.exited;
    agent = await startHotpot('agent', env);
    const fifth = await placeOrder('tofu');
    await waitFor(() => ticketNumbers(kitchen).includes(fifth), 'the fifth ticket', 20_000);
    expect(ticketNumbers(kitchen).filter((number) => number === fourth)).toHaveLength(1);
    expect(kitchen.receipts).toHaveLength(5);
  });
});
