import { afterEach, expect, it } from 'vitest';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';
import { startFleetCentral } from '../fleet/helpers.js';
import { makeOrders, makeVoid } from '../upstream/orders.js';
import { DESKTOP, PHONE, launchBrowser, lookAt, signIn, userOf } from './browser.js';

describeWithPeers("a point's day on the dashboard: gross, voids, net (Chromium)", [peers.chromium()], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  it("shows today's orders, gross, voids (count and sum) and net in the point drawer, on a phone and a desktop", async () => {
    const central = await startFleetCentral(tempDir('dash-voids'));
    running.push(central);
    const browser = await launchBrowser();
    running.push({ stop: () => browser.close() });
    const orders = makeOrders('telavi-01', 4);
    // Two of the four voided: one with its order, one in a later message.
    await central.orders.commitOrders(orders, Date.now(), [makeVoid(orders[1]!, 'wrong dish')]);
    await central.orders.commitOrders([], Date.now(), [makeVoid(orders[2]!, 'customer left')]);
    const gross = orders.reduce((sum, order) => sum + order.total, 0);
    const voided = orders[1]!.total + orders[2]!.total;
    const amount = (minor: number) => (minor / 100).toFixed(2);
    const viewer = await userOf(central, 'viewer-voids', 'viewer');

    for (const viewport of [PHONE, DESKTOP]) {
      const { page, errors } = await signIn(browser, central, viewer, viewport, '#fleet/point/telavi-01');
      const fact = (name: string) => page.locator(`dl.day dd[data-fact="${name}"]`);
      await fact('net').waitFor({ timeout: 15_000 });
      expect(await fact('orders').textContent()).toBe('4');
      expect(await fact('gross').textContent()).toBe(amount(gross));
      expect(await fact('voids').textContent()).toBe(`2 · ${amount(voided)}`);
      expect(await fact('net').textContent()).toBe(amount(gross - voided));
      expect(await fact('check').textContent()).toBe('no day summary from the box yet');
      await lookAt(page, 'point-day');
      expect(errors).toEqual([]);
      await page.context().close();
    }
  });
});
