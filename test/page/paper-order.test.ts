import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';
import { freePort } from '../peers/net.js';
import { launchChromium, openStaffPage, ordersOnDisk, screenshot, startPageAgent } from './harness.js';

/** The picker's value (browser-local `YYYY-MM-DDTHH:mm`) for a time `minutesAgo` before now, and that minute in ms. */
async function pickerValue(page: Page, minutesAgo: number): Promise<{ value: string; ms: number }> {
  return page.evaluate((ago) => {
    const d = new Date(Date.now() - ago * 60_000);
    d.setSeconds(0, 0);
    const pad = (n: number) => String(n).padStart(2, '0');
    return { value: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`, ms: d.getTime() };
  }, minutesAgo);
}

describeWithPeers('staff page: entering a paper order with its real time', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;

  beforeAll(async () => {
    agent = await startPageAgent(tempDir('paper'), 'kutaisi-02', `mqtt://127.0.0.1:${await freePort()}`, { pins: { manager: '4321' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('saves a paper order from 5 minutes ago with that time, and asks the manager for one from an hour ago', async () => {
    const page = await (await browser.newContext({ viewport: { width: 800, height: 1280 } })).newPage();
    await openStaffPage(page, agent.httpPort!);
    await page.getByText('Enter a paper order').click();
    expect(await page.locator('#paper-hint').textContent()).toBe('The time written on the paper. Older than 15 min needs the manager PIN.');
    const recent = await pickerValue(page, 5);
    await page.getByLabel('Taken at').fill(recent.value);
    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № kutaisi-02-000001');
    expect(ordersOnDisk(agent.store.file)[0]).toMatchObject({ number: 'kutaisi-02-000001', takenAt: recent.ms });
    // The next draft starts as an order taken now.
    expect(await page.getByLabel('Taken at').inputValue()).toBe('');

    const old = await pickerValue(page, 60);
    await page.getByLabel('Taken at').fill(old.value);
    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.getByLabel('Card').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    const dialog = page.getByRole('dialog', { name: 'Manager PIN needed' });
    await dialog.waitFor({ timeout: 10_000 });
    expect(await page.locator('#pin-reason').textContent()).toMatch(/^This paper order was taken (60|61) min ago: a late entry needs the manager\.$/);
    await screenshot(page, 'paper-order-pin');
    await page.getByRole('textbox', { name: 'Manager PIN', exact: true }).fill('4321');
    await page.getByRole('button', { name: 'Approve and save' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № kutaisi-02-000002');
    expect(ordersOnDisk(agent.store.file)[1]).toMatchObject({ takenAt: old.ms, payment: 'card' });

    // A time in the future is refused in the page's words, and nothing is stored.
    const ahead = await pickerValue(page, -30);
    await page.getByLabel('Taken at').fill(ahead.value);
    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/that time is in the future/);
    expect(ordersOnDisk(agent.store.file)).toHaveLength(2);
  });
});
