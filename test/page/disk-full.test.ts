import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { packageRoot } from '../../lib/paths.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder } from '../helpers/inproc.js';
import { freePort } from '../peers/net.js';
import { SmallDisk } from '../peers/tmpfs.js';
import { launchChromium, openStaffPage, ordersOnDisk, screenshot, startPageAgent } from './harness.js';

const I18N = pathToFileURL(join(packageRoot(), 'agent', 'page', 'static', 'i18n.js')).href;

/** What the order pane shows: its lines and total. */
async function cartOf(page: Page): Promise<{ lines: number; total: string }> {
  return { lines: await page.locator('#lines > li').count(), total: (await page.locator('#total').textContent()) ?? '' };
}

describeWithPeers('staff page on a box whose data disk is full (real Chromium, tmpfs)', [peers.chromium(), peers.tmpfs()], () => {
  let agent: Agent | undefined;
  let browser: Browser | undefined;
  let disk: SmallDisk;

  beforeAll(async () => {
    const dir = tempDir('page-disk-full');
    disk = new SmallDisk(join(dir, 'zugdidi-01'));
    await disk.mount();
    // No broker: the box works offline, so nothing but the page writes to its disk.
    agent = await startPageAgent(dir, 'zugdidi-01', `mqtt://127.0.0.1:${await freePort()}`);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await disk?.unmount();
  });

  it('Save & print says the disk is full in ru, en and ka and keeps the cart; with space back Save saves it once and clears the cart', async () => {
    const { STRINGS } = (await import(I18N)) as { STRINGS: Record<string, Record<string, string>> };
    const port = agent!.httpPort!;
    const page = await (await browser!.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await openStaffPage(page, port);

    // One order from before the disk filled, to void while it is full.
    const earlier = await httpJson<{ id: string }>(port, 'POST', '/api/orders', sampleOrder(1000));
    expect(earlier.status).toBe(201);
    expect(disk.fill()).toBeGreaterThan(0);
    // The WAL may still hold a few orders: use them up, so the page's order is the one that finds the disk full.
    let refused = false;
    for (let i = 0; i < 300 && !refused; i++) refused = (await httpJson(port, 'POST', '/api/orders', sampleOrder(i))).status === 507;
    expect(refused).toBe(true);
    const before = ordersOnDisk(agent!.store.file).length;

    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.locator('button.item').nth(1).click();
    await page.locator('input[name="payment"][value="cash"]').check();
    await page.locator('#lang').selectOption('en');
    const cart = await cartOf(page);
    expect(cart.lines).toBe(2);
    const clientRef = await page.evaluate(() => (JSON.parse(localStorage.getItem('hotpot.draft') ?? '{}') as { clientRef: string }).clientRef);

    for (const lang of ['en', 'ru', 'ka'] as const) {
      await page.locator('#lang').selectOption(lang);
      const shown = await cartOf(page);
      expect(shown.lines).toBe(cart.lines);
      await page.locator('#save').click();
      await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe(STRINGS[lang]!['code.disk_full']);
      expect(await page.locator('#message').getAttribute('class')).toBe('message error');
      expect(await cartOf(page)).toEqual(shown);
      expect(await page.locator('#save').isEnabled()).toBe(true);
      // The message longer than its box starts at its first word (scrolls for the rest), never cut off above.
      expect(await page.locator('#message').evaluate((box) => box.firstElementChild!.getBoundingClientRect().top - box.getBoundingClientRect().top)).toBeGreaterThanOrEqual(0);
      // The banner no longer says orders are saved on this box.
      await expect.poll(() => page.locator('#mode').textContent()).toBe(STRINGS[lang]!['banner.diskFull']);
      expect(await page.locator('#mode').getAttribute('class')).toBe('mode mode-diskfull');
      await screenshot(page, `disk-full-${lang}`);
    }
    expect(await page.evaluate(() => (JSON.parse(localStorage.getItem('hotpot.draft') ?? '{}') as { clientRef: string }).clientRef)).toBe(clientRef);
    expect(agent!.store.getByClientRef(clientRef)).toBeNull();
    expect(ordersOnDisk(agent!.store.file)).toHaveLength(before);

    // A void on the full disk says so in its own words (not "Save & print"), and changes nothing.
    await page.locator('#lang').selectOption('en');
    await page.locator('[data-view="today"]').click();
    await page.locator(`#orders tr[data-order-id="${earlier.body.id}"] td.number`).click();
    await page.locator('#order-dialog[open]').waitFor();
    await page.locator('#order-void').click();
    await page.locator('#void-dialog[open]').waitFor();
    await page.locator('#void-reason').fill('wrong dish');
    await page.locator('#void-ok').click();
    await expect.poll(() => page.locator('#void-error').textContent(), { timeout: 10_000 }).toBe(STRINGS.en!['void.diskFull']);
    expect(agent!.store.get(earlier.body.id)?.void).toBeNull();
    await page.locator('#void-cancel').click();
    await page.locator('[data-view="order"]').click();
    expect(await cartOf(page)).toEqual(cart);

    disk.free();
    await page.locator('#lang').selectOption('en');
    // The box notices the space by itself (its probe) and the banner says so before anyone presses Save.
    await expect.poll(() => page.locator('#mode').getAttribute('class'), { timeout: 15_000 }).toBe('mode mode-offline');
    await page.locator('#save').click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved № zugdidi-01-\d{6}/);
    expect(await cartOf(page)).toEqual({ lines: 0, total: '0.00 ₾' });
    const onDisk = ordersOnDisk(agent!.store.file);
    expect(onDisk).toHaveLength(before + 1);
    expect(onDisk.filter((order) => order.clientRef === clientRef)).toHaveLength(1);
    expect(onDisk.at(-1)).toMatchObject({ clientRef, payment: 'cash', items: [expect.objectContaining({ sku: 'khinkali-meat', qty: 2 }), expect.anything()] });
  });
});
