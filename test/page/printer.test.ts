import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { deviceDeps, type DeviceDeps } from '../../agent/checks/index.js';
import { silentLogger } from '../../lib/log.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { launchChromium, openStaffPage, screenshot, startPageAgent } from './harness.js';

describeWithPeers('staff page with a real (emulated ESC/POS) receipt printer', [peers.chromium()], () => {
  let printer: PrinterEmulator;
  let devices: DeviceDeps | undefined;
  let agent: Agent | undefined;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    printer = new PrinterEmulator();
    const address = await printer.listenTcp();
    agent = await startPageAgent(
      tempDir('page-printer'),
      'tbilisi-04',
      `mqtt://127.0.0.1:${await freePort()}`,
      { checks: { printer: { interface: address, intervalMs: 300, retryMs: 300 } }, pins: { manager: '2468' } },
      async (config) => {
        const deps = await deviceDeps(config, silentLogger(), () => agent?.link.connected ?? false);
        devices = deps;
        return { health: deps.health, ...(deps.receipts ? { receipts: deps.receipts } : {}), ...(deps.drawer ? { drawer: deps.drawer } : {}) };
      },
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await openStaffPage(page, agent.httpPort!);
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await devices?.close();
    await printer?.close();
  });

  it('says "receipt queued — printer out of paper", queues the receipt, and prints it when paper is back', async () => {
    const printerState = page.locator('#printer-state');
    await expect.poll(() => printerState.textContent(), { timeout: 15_000 }).toBe('Printer ready');
    printer.set({ paperEnd: true });
    await expect.poll(() => printerState.textContent(), { timeout: 15_000 }).toBe('Receipt queued — printer out of paper');

    await page.locator('button.item[data-sku="khachapuri-adjaruli"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    // Beside Save: saved, and why the receipt waits.
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № tbilisi-04-000001 · the receipt waits: printer out of paper');
    const receiptCell = page.locator('#orders tr', { hasText: 'tbilisi-04-000001' }).locator('td').nth(5);
    await expect.poll(() => receiptCell.textContent(), { timeout: 10_000 }).toBe('queued');
    await screenshot(page, 'printer-out-of-paper');
    expect(printer.receipts).toHaveLength(0);

    printer.set({});
    await waitFor(() => printer.receipts.length === 1, 'the queued receipt to print once paper is back', 20_000);
    expect(printer.receipts[0]!.text).toContain('tbilisi-04-000001');
    await expect.poll(() => receiptCell.textContent(), { timeout: 15_000 }).toBe('printed');
    await expect.poll(() => printerState.textContent(), { timeout: 15_000 }).toBe('Printer ready');
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 15_000 }).toBe('Saved № tbilisi-04-000001 · receipt printed');
    // The next order's first item ends the last one's message.
    await page.locator('button.item[data-sku="tofu"]').click();
    expect(await page.locator('#message').textContent()).toBe('');
  });

  it('reprints from the list', async () => {
    await page.locator('[data-view="today"]').click();
    await page.getByRole('button', { name: 'Reprint receipt № tbilisi-04-000001' }).click();
    await expect.poll(() => page.locator('#reprint-message').textContent(), { timeout: 10_000 }).toBe('Reprint of № tbilisi-04-000001 queued.');
    await waitFor(() => printer.receipts.length === 2, 'the reprint', 20_000);
    expect(printer.receipts[1]!.text).toContain('REPRINT');
  });

  it('lets a manager open the cash drawer and take the point offline from the Till screen, with the PIN', async () => {
    await page.locator('[data-view="till"]').click();
    const message = page.locator('#manager-message');
    await page.getByLabel('Manager PIN for these actions').fill('1111');
    await page.getByRole('button', { name: 'Open the cash drawer' }).click();
    await expect.poll(() => message.textContent(), { timeout: 10_000 }).toBe('Wrong PIN. Try again.');
    expect(printer.drawerKicks).toHaveLength(0);
    await page.getByLabel('Manager PIN for these actions').fill('2468');
    await page.getByRole('button', { name: 'Open the cash drawer' }).click();
    await expect.poll(() => message.textContent(), { timeout: 10_000 }).toBe('The cash drawer is open.');
    expect(printer.drawerKicks).toEqual([{ pin: 2, onMs: 100 }]);
    await page.getByLabel('Manager PIN for these actions').fill('2468');
    await page.getByRole('button', { name: 'Take the point offline' }).click();
    await expect.poll(() => message.textContent(), { timeout: 10_000 }).toBe('The point is offline: orders are kept on this box.');
    expect(agent!.store.getMeta('mode.force.staff')).toBe('offline');
    // Held offline by hand, the same button hands the mode back to the checks.
    await page.getByLabel('Manager PIN for these actions').fill('2468');
    await page.getByRole('button', { name: 'Back online (automatic)' }).click();
    await expect.poll(() => message.textContent(), { timeout: 10_000 }).toBe('The point follows its connection again.');
    expect(agent!.store.getMeta('mode.force.staff')).toBe('none');
    await screenshot(page, 'till-manager');
  });
});
