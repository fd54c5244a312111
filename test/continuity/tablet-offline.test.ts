import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { sampleMenuFile } from '../../lib/paths.js';
import { provisionCa, provisionPoint } from '../../tools/provision/index.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { ordersOnDisk } from '../page/harness.js';

const POINT = 'rustavi-06';

/**
 * A tablet carries on: the staff page over HTTPS (a certificate provision-point issued), installed
 * as an app (service worker), in real Chromium with persistent profiles; the agent a real process
 * killed -9 and restarted on the same ports; receipts on an emulated ESC/POS printer.
 */
describeWithPeers('tablets carry on while the box is down', [peers.chromium(), peers.socat()], () => {
  const dir = tempDir('tablet-offline');
  let agent: HotpotProcess | undefined;
  let printer: PrinterEmulator;
  let env: Record<string, string>;
  let tlsPort: number;
  let spki: string;
  const tablets: BrowserContext[] = [];

  const startBox = async () => {
    agent = await startHotpot('agent', env);
  };
  const killBox = async () => {
    await agent!.kill('SIGKILL');
    agent = undefined;
  };
  const onDisk = () => ordersOnDisk(join(dir, 'box', 'agent.db'));

  async function tablet(name: string): Promise<Page> {
    const context = await chromium.launchPersistentContext(join(dir, `profile-${name}`), {
      executablePath: '/usr/bin/chromium',
      // The CA is not in the headless profile's trust store: the box's key is trusted by its SPKI hash instead, so the origin is secure.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', `--ignore-certificate-errors-spki-list=${spki}`],
      ignoreHTTPSErrors: true,
      timeout: 60_000,
    });
    tablets.push(context);
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`https://localhost:${tlsPort}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    // Installed: the worker controls the page and has kept the shell and the menu.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await waitFor(() => page.evaluate(async () => Boolean(await caches.match('/api/menu')) && Boolean(await caches.match('/assets/app.js'))), 'the worker to keep the page and menu', 15_000);
    return page;
  }

  async function reloadDown(page: Page) {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    await page.locator('#nobox:not([hidden])').waitFor({ timeout: 10_000 });
    await page.locator('button.item[data-sku="napa-cabbage"]').waitFor({ timeout: 5000 });
  }

  async function takeOrder(page: Page): Promise<{ number: string; at: number }> {
    const kept = await page.locator('#kept-list li').count();
    await page.locator('button.item[data-sku="napa-cabbage"]').click();
    await page.locator('input[name="payment"][value="cash"]').check();
    const at = Date.now();
    await page.locator('#save').click();
    await waitFor(async () => (await page.locator('#kept-list li').count()) === kept + 1, 'the order to be kept on the tablet', 10_000);
    const number = (await page.locator('#kept-list li').last().getAttribute('data-number'))!;
    expect(await page.locator('#kept-list li').last().getAttribute('data-state')).toBe('waiting');
    return { number, at };
  }

  async function expectDelivered(page: Page, taken: { number: string; at: number }[]) {
    for (const { number } of taken) await page.locator(`#kept-list li[data-number="${number}"][data-state="delivered"]`).waitFor({ timeout: 20_000 });
    const orders = onDisk();
    for (const { number, at } of taken) {
      const matching = orders.filter((order) => order.number === number);
      expect(matching, number).toHaveLength(1);
      expect(Math.abs(matching[0]!.takenAt! - at), `${number}'s takenAt`).toBeLessThanOrEqual(2000);
    }
    await waitFor(() => taken.every(({ number }) => printer.receipts.some((receipt) => receipt.text.includes(number))), 'every receipt to print', 20_000);
  }

  beforeAll(async () => {
    const caDir = join(dir, 'ca');
    await provisionCa(caDir);
    const point = await provisionPoint({ pointId: POINT, outDir: join(dir, 'point'), brokerUrl: 'mqtt://127.0.0.1:1', caDir, serverCertNames: ['localhost', '127.0.0.1'] });
    const cert = new X509Certificate(readFileSync(point.files.httpsCert!));
    spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    printer = new PrinterEmulator();
    const printerAddress = await printer.listenTcp();
    tlsPort = await freePort();
    env = {
      HOTPOT_POINT_ID: POINT,
      HOTPOT_DATA_DIR: join(dir, 'box'),
      HOTPOT_MENU_FILE: sampleMenuFile(),
      HOTPOT_HTTP_PORT: String(await freePort()),
      HOTPOT_HTTP_TLS_PORT: String(tlsPort),
      HOTPOT_HTTP_TLS_CERT: point.files.httpsCert!,
      HOTPOT_HTTP_TLS_KEY: point.files.httpsKey!,
      // No central: the box runs alone (its orders wait in its outbox).
      HOTPOT_MQTT_URL: 'mqtt://127.0.0.1:1',
      HOTPOT_CHECKS_PRINTER_INTERFACE: printerAddress,
    };
    await startBox();
  }, 60_000);

  afterAll(async () => {
    for (const context of tablets) await context.close().catch(() => undefined);
    if (agent) await agent.kill('SIGKILL');
    await printer?.close();
  });

  it('keeps 3 orders while the box is killed, and delivers each once with its real time, printed', async () => {
    const page = await tablet('a');
    await killBox();
    await reloadDown(page);
    const taken = [await takeOrder(page), await takeOrder(page), await takeOrder(page)];
    expect(new Set(taken.map((t) => t.number)).size).toBe(3);
    expect(taken[0]!.number).toMatch(new RegExp(`^${POINT}-[a-z0-9]{1,8}-1$`));
    await startBox();
    await expectDelivered(page, taken);
  }, 120_000);

  it('keeps them through a reload while the box is down', async () => {
    const page = tablets[0]!.pages()[0]!;
    await killBox();
    await reloadDown(page);
    const taken = [await takeOrder(page), await takeOrder(page)];
    await reloadDown(page);
    for (const { number } of taken) await page.locator(`#kept-list li[data-number="${number}"][data-state="waiting"]`).waitFor({ timeout: 5000 });
    await startBox();
    await expectDelivered(page, taken);
  }, 120_000);

  it('two tablets offline at once never give the same number', async () => {
    const a = tablets[0]!.pages()[0]!;
    const b = await tablet('b');
    await killBox();
    await reloadDown(a);
    await reloadDown(b);
    const taken = [await takeOrder(a), await takeOrder(b), await takeOrder(a), await takeOrder(b)];
    expect(new Set(taken.map((t) => t.number)).size).toBe(4);
    await startBox();
    await expectDelivered(a, taken.filter((_, i) => i % 2 === 0));
    await expectDelivered(b, taken.filter((_, i) => i % 2 === 1));
    const numbers = onDisk().map((order) => order.number);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toHaveLength(9);
  }, 120_000);
});
