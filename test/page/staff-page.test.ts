import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startCentral } from '../helpers/inproc.js';
import { tempDir } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';
import { launchChromium, openStaffPage, ordersOnDisk, screenshot, startPageAgent } from './harness.js';
import { brokerOf } from '../helpers/logins.js';

describeWithPeers('staff page in a real Chromium', [peers.chromium()], () => {
  let dir: string;
  let brokerPort: number;
  let central: Central | undefined;
  let agent: Agent;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = tempDir('page');
    brokerPort = await freePort();
    central = await startCentral(dir, { brokerPort });
    agent = await startPageAgent(dir, 'tbilisi-01', brokerOf(central));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await openStaffPage(page, agent.httpPort!);
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await central?.stop();
  });

  it('takes an order by clicking: two items, cash, save → committed in SQLite and listed', async () => {
    await page.locator('#mode.mode-online').waitFor({ timeout: 15_000 });
    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.locator('button.item[data-sku="tarkhuna"]').click();
    await expect.poll(() => page.locator('#total').textContent(), { timeout: 10_000 }).toBe('5.50 ₾');
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();

    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № tbilisi-01-000001');
    const [stored] = ordersOnDisk(agent.store.file);
    expect(stored).toMatchObject({ number: 'tbilisi-01-000001', total: 550, payment: 'cash', mode: 'online' });
    expect(stored!.items.map((item) => [item.sku, item.qty])).toEqual([
      ['khinkali-meat', 1],
      ['tarkhuna', 1],
    ]);
    const row = page.locator('#orders tr', { hasText: 'tbilisi-01-000001' });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => row.getAttribute('data-sync'), { timeout: 15_000 }).toBe('synced');
    // The saved order left the ticket: a new draft starts empty.
    expect(await page.locator('#lines li').count()).toBe(0);
    await screenshot(page, 'saved-online');
  });

  it('saves a double-tapped order once', async () => {
    const before = ordersOnDisk(agent.store.file).length;
    await page.locator('button.item[data-sku="tofu"]').click();
    await page.getByLabel('Card').check();
    await page.getByRole('button', { name: 'Save & print' }).dblclick();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved № /);
    // Let any second request land before counting.
    await page.waitForLoadState('networkidle');
    expect(ordersOnDisk(agent.store.file).length).toBe(before + 1);
  });

  it('keeps an order whose answer was lost on the tablet with the same clientRef, and delivers it once: one order', async () => {
    const before = ordersOnDisk(agent.store.file).length;
    // The box commits the order, but the answer never reaches the tablet (Wi-Fi drop).
    await page.route('**/api/orders', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      await route.fetch();
      await route.abort('connectionreset');
    });
    await page.locator('button.item[data-sku="napa-cabbage"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved on this tablet № tbilisi-01-[a-z0-9]+-1:/);
    expect(ordersOnDisk(agent.store.file).length).toBe(before + 1);
    await page.unroute('**/api/orders');
    // The box answers again: the kept order goes with its clientRef, and the box answers with the one it saved.
    await page.locator('#kept-list li[data-state="delivered"]').waitFor({ timeout: 10_000 });
    expect(ordersOnDisk(agent.store.file).length).toBe(before + 1);
  });

  it('turns the banner OFFLINE within 5 s of losing central, keeps selling, and survives a reload', async () => {
    await waitFor(() => agent.store.unsyncedStats().count === 0, 'the earlier orders to sync', 20_000);
    await central!.stop(false);
    central = undefined;
    await page.locator('#mode.mode-offline').waitFor({ timeout: 5000 });
    expect(await page.locator('#mode').textContent()).toMatch(/^OFFLINE since \d\d:\d\d — orders are saved on this box and will sync$/);
    await screenshot(page, 'offline-banner');

    await page.locator('button.item[data-sku="borjomi"]').click();
    await page.getByLabel('Note').fill('table 4');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    // The half-entered order survived the reload.
    await expect.poll(() => page.locator('#lines li').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByLabel('Note').inputValue()).toBe('table 4');
    // (The 5 s requirement was checked above; here the reloaded page only has to show the mode again.)
    await page.locator('#mode.mode-offline').waitFor({ timeout: 15_000 });

    await page.getByLabel('Cash').check();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № tbilisi-01-000004');
    const row = page.locator('#orders tr', { hasText: 'tbilisi-01-000004' });
    await expect.poll(() => row.getAttribute('data-sync'), { timeout: 10_000 }).toBe('pending');
    expect(ordersOnDisk(agent.store.file).at(-1)).toMatchObject({ number: 'tbilisi-01-000004', mode: 'offline', note: 'table 4' });
    await expect.poll(() => page.locator('#unsynced-state').textContent(), { timeout: 10_000 }).toBe('Waiting to sync: 1');
    await screenshot(page, 'offline-order');

    // Central comes back on the same broker port: the order syncs and the page says so.
    central = await startCentral(dir, { brokerPort });
    await page.locator('#mode.mode-online').waitFor({ timeout: 20_000 });
    await expect.poll(() => row.getAttribute('data-sync'), { timeout: 20_000 }).toBe('synced');
    await waitFor(async () => (await central!.orders.listOrders({ pointId: 'tbilisi-01', limit: 10 })).length === 4, 'central to hold all four orders');
  });

  it('shows the end of day: count, sum, cash and card, first and last number, gaps', async () => {
    await page.locator('[data-view="till"]').click();
    await page.getByRole('button', { name: 'Show' }).click();
    const field = (key: string) => page.locator(`#eod-summary [data-field="${key}"] dd`).textContent();
    await expect.poll(() => field('eod.count'), { timeout: 10_000 }).toBe('4');
    const orders = ordersOnDisk(agent.store.file);
    const cash = orders.filter((order) => order.payment === 'cash');
    expect(await field('eod.total')).toBe(`${(orders.reduce((sum, order) => sum + order.total, 0) / 100).toFixed(2)} ₾`);
    expect(await field('eod.cash')).toBe(`${cash.length} · ${(cash.reduce((sum, order) => sum + order.total, 0) / 100).toFixed(2)} ₾`);
    expect(await field('eod.first')).toBe('tbilisi-01-000001');
    expect(await field('eod.last')).toBe('tbilisi-01-000004');
    expect(await field('eod.gaps')).toBe('none');
    expect(await page.locator('#eod-note').textContent()).toBe('Every order of this day is synced: central can confirm these totals.');
    await screenshot(page, 'end-of-day');
  });
});
