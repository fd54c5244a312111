import { afterEach, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../lib/paths.js';
import type { Central } from '../../central/central.js';
import { waitFor } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { startFleetCentral, viewOf } from './helpers.js';
import { agentMqttEnv, brokerOf } from '../helpers/logins.js';

const ARTIFACTS = join(packageRoot(), 'test-artifacts');

describeWithPeers('fleet dashboard in headless Chromium', [peers.chromium()], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function agentProcess(central: Central, pointId: string): Promise<HotpotProcess> {
    const agent = await startHotpot('agent', {
      HOTPOT_POINT_ID: pointId,
      HOTPOT_DATA_DIR: tempDir(`dash-${pointId}`),
      ...agentMqttEnv(brokerOf(central), pointId),
      HOTPOT_MQTT_KEEPALIVE: '2',
      HOTPOT_HTTP_PORT: '0',
    });
    running.push({ stop: () => agent.kill('SIGKILL') });
    return agent;
  }

  it('shows a point turn red when its agent is killed, live; acks its incident; runs a command', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // Disconnects alert after 1 s here, so the incident shows up within the test.
    const central = await startFleetCentral(tempDir('dashboard'), { extra: { alerts: { tickMs: 200, disconnected: { afterMs: 1000 } } } });
    running.push(central);
    const doomed = await agentProcess(central, 'tbilisi-21');
    await agentProcess(central, 'batumi-21');
    await waitFor(() => Boolean(viewOf(central, 'tbilisi-21')?.connected && viewOf(central, 'batumi-21')?.connected), 'both agents connected', 20_000);

    const browser: Browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    running.push({ stop: () => browser.close() });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Ops sign in on the login page central sends them to.
    await central.access.addUser('nino', 'operator', 'a long enough password');
    await page.goto(`http://127.0.0.1:${central.httpPort}/`);
    await page.waitForURL(/\/login\?next=/);
    await page.fill('#username', 'nino');
    await page.fill('#password', 'a long enough password');
    await page.click('button[type="submit"]');
    const row = page.locator('tr[data-point="tbilisi-21"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-condition')).not.toBe('offline');
    await page.locator('#live[data-live="on"]').waitFor({ timeout: 10_000 });
    // Marks this page load: a reload would lose it.
    await page.evaluate("window.loadMarker = 'first load'");

    await doomed.kill('SIGKILL');
    await page.locator('tr[data-point="tbilisi-21"][data-condition="offline"]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate('window.loadMarker')).toBe('first load');
    const background = await page.evaluate<string>(`getComputedStyle(document.querySelector('tr[data-point="tbilisi-21"]')).backgroundColor`);
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    expect(r).toBeGreaterThan(g! + 20);
    expect(r).toBeGreaterThan(b! + 20);
    expect(await page.locator('tr[data-point="batumi-21"]').getAttribute('data-condition')).not.toBe('offline');
    expect(await page.locator('.count[data-condition="offline"] b').textContent()).toBe('1');

    // The disconnect incident arrives live; Ack in the incidents panel.
    const incident = page.locator('li.incident[data-key="point:tbilisi-21:disconnected"]');
    await incident.waitFor({ timeout: 15_000 });
    process.stderr.write(`incidents: ${central.incidents.active().map((i) => `${i.key}${i.parentId ? ' (child)' : ''}`).join(', ')}\n`);
    await incident.locator(':scope > .incident-row button.ack').click();
    await page.locator('li.incident[data-key="point:tbilisi-21:disconnected"][data-status="acked"]').waitFor({ timeout: 10_000 });
    expect(central.incidents.openFor('point:tbilisi-21:disconnected')).toMatchObject({ status: 'acked', ackedBy: 'nino' });
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-dashboard.png'), fullPage: true });

    // Point detail: a command and its result, shown without reload.
    await page.locator('tr[data-point="batumi-21"]').click();
    await page.locator('#detail h2', { hasText: 'batumi-21' }).waitFor({ timeout: 10_000 });
    await page.locator('#detail button[data-command="rebirth"]').click();
    await page.locator('#detail ul.commands li[data-status="ok"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#detail ul.commands li[data-status="ok"] b').first().textContent()).toBe('rebirth');
    await page.locator('#detail ol.timeline li').first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-point-detail.png') });

    // On a phone: the same page, table scrolls sideways, detail full width.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(`http://127.0.0.1:${central.httpPort}/`);
    await phone.locator('tr[data-point="tbilisi-21"][data-condition="offline"]').waitFor({ timeout: 15_000 });
    await phone.screenshot({ path: join(ARTIFACTS, 'fleet-dashboard-phone.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
