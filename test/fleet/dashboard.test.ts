import { afterEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Browser } from 'playwright-core';
import type { Central } from '../../central/central.js';
import { waitFor } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { FakeHardware } from '../peers/hardware.js';
import { provisionCa } from '../../tools/provision/index.js';
import { agentMqttEnv, brokerOf } from '../helpers/logins.js';
import { DESKTOP, PHONE, computedStyle, launchBrowser, lookAt, openView, signIn, userOf } from '../dashboard/browser.js';
import { startFleetCentral, viewOf } from './helpers.js';

/** The point whose card or row holds the focus. */
const FOCUSED_POINT = "document.activeElement?.closest('li')?.getAttribute('data-point')";

describeWithPeers('fleet dashboard in headless Chromium (phone and desktop)', [peers.chromium()], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function agentProcess(central: Central, pointId: string, env: Record<string, string> = {}): Promise<HotpotProcess> {
    const agent = await startHotpot('agent', {
      HOTPOT_POINT_ID: pointId,
      HOTPOT_DATA_DIR: tempDir(`dash-${pointId}`),
      ...agentMqttEnv(brokerOf(central), pointId),
      HOTPOT_MQTT_KEEPALIVE: '2',
      HOTPOT_HTTP_PORT: '0',
      ...env,
    });
    running.push({ stop: () => agent.kill('SIGKILL') });
    return agent;
  }

  it('shows a killed point offline with its last facts greyed, live and keeping focus; acks from the phone; says when central stops', async () => {
    // Disconnects alert after 1 s here, so the incident shows up within the test.
    const central = await startFleetCentral(tempDir('dashboard'), { extra: { alerts: { tickMs: 200, disconnected: { afterMs: 1000 } } } });
    let centralRunning = true;
    running.push({ stop: async () => void (centralRunning && (await central.stop())) });
    const doomed = await agentProcess(central, 'tbilisi-21');
    await agentProcess(central, 'batumi-21');
    await waitFor(() => Boolean(viewOf(central, 'tbilisi-21')?.connected && viewOf(central, 'batumi-21')?.connected), 'both agents connected', 20_000);

    const browser: Browser = await launchBrowser();
    running.push({ stop: () => browser.close() });
    const nino = await userOf(central, 'nino', 'operator');
    const phone = await signIn(browser, central, nino, PHONE);
    const desktop = await signIn(browser, central, nino, DESKTOP);

    for (const { page } of [phone, desktop]) {
      await page.locator('li.pt[data-point="tbilisi-21"][data-current="true"]').waitFor({ timeout: 15_000 });
      expect(await page.locator('.count[data-condition="all"] b').textContent()).toBe('2');
      expect(await page.locator('.group-card[data-group="tbilisi"]').textContent()).toContain('1 point');
      for (const view of ['fleet', 'incidents', 'runbooks', 'backups']) {
        await openView(page, view);
        await lookAt(page, view);
      }
      await openView(page, 'fleet');
    }
    // Below 600 px the fleet is cards whose facts carry their own labels; wide, rows under one header.
    expect(await phone.page.locator('.fleet-head').isVisible()).toBe(false);
    expect(await phone.page.locator('li.pt[data-point="batumi-21"] .c-mode .lbl').isVisible()).toBe(true);
    expect(await desktop.page.locator('.fleet-head').isVisible()).toBe(true);

    // A person is on batumi's card when tbilisi dies: the live refresh must leave focus and scroll alone.
    await phone.page.evaluate("window.loadMarker = 'first load'");
    await phone.page.locator('li.pt[data-point="batumi-21"] .pt-open').focus();
    await phone.page.evaluate('window.scrollTo(0, 120)');
    const scrolled = await phone.page.evaluate('window.scrollY');
    await doomed.kill('SIGKILL');

    for (const { page } of [phone, desktop]) {
      const card = page.locator('li.pt[data-point="tbilisi-21"][data-condition="offline"][data-current="false"]');
      await card.waitFor({ timeout: 15_000 });
      expect(await card.locator('.state-line').textContent()).toMatch(/^offline since \d\d:\d\d Tbilisi \(\d+ s ago\)$/);
      // Mode and checks are unknown since then; the last report is still there, greyed, "as of" its time.
      expect(await card.locator('.c-mode .value.unknown').textContent()).toMatch(/^unknown since \d\d:\d\d Tbilisi$/);
      expect(await card.locator('.c-mode .was').textContent()).toMatch(/was online as of \d\d:\d\d Tbilisi/);
      expect(await card.locator('.c-checks .chip[data-status="unknown"]').count()).toBe(4);
      expect(await card.locator('.c-checks small.was').textContent()).toMatch(/^as of \d\d:\d\d Tbilisi$/);
      const grey = await computedStyle(card.locator('.c-checks .chip').first(), 'color');
      const [r, g, b] = grey.match(/\d+/g)!.map(Number);
      expect(Math.max(r!, g!, b!) - Math.min(r!, g!, b!)).toBeLessThan(30);
      expect(await page.locator('li.pt[data-point="batumi-21"]').getAttribute('data-current')).toBe('true');
      expect(await page.locator('.count[data-condition="offline"] b').textContent()).toBe('1');
    }
    expect(await phone.page.evaluate('window.loadMarker')).toBe('first load');
    expect(await phone.page.evaluate(FOCUSED_POINT)).toBe('batumi-21');
    expect(await phone.page.evaluate('window.scrollY')).toBe(scrolled);

    // The disconnect incident arrives live; acknowledged from the phone.
    await openView(phone.page, 'incidents');
    const incident = phone.page.locator('li.incident[data-key="point:tbilisi-21:disconnected"]');
    await incident.waitFor({ timeout: 15_000 });
    await incident.locator(':scope > .actions button.ack').click();
    await phone.page.locator('li.incident[data-key="point:tbilisi-21:disconnected"][data-status="acked"]').waitFor({ timeout: 10_000 });
    expect(central.incidents.openFor('point:tbilisi-21:disconnected')).toMatchObject({ status: 'acked', ackedBy: 'nino' });
    await desktop.page.locator('li.incident[data-key="point:tbilisi-21:disconnected"][data-status="acked"]').waitFor({ state: 'attached', timeout: 10_000 });

    // The point drawer on the desktop: it takes focus, runs a command, Esc closes it and focus goes back.
    const opener = desktop.page.locator('li.pt[data-point="batumi-21"] .pt-open');
    await opener.click();
    await desktop.page.locator('#drawer-title', { hasText: 'batumi-21' }).waitFor({ timeout: 10_000 });
    expect(await desktop.page.evaluate('document.activeElement?.id')).toBe('drawer-title');
    await desktop.page.locator('#drawer button[data-command="rebirth"]').click();
    await desktop.page.locator('#drawer ul.commands li[data-status="ok"]').waitFor({ timeout: 15_000 });
    // Manual-order mode by hand, confirmed first; then the mode handed back to the box's checks.
    await desktop.page.locator('#drawer button[data-command="mode-offline"]').click();
    expect(await desktop.page.locator('dialog[open]').textContent()).toContain('Put batumi-21 in manual-order mode?');
    await desktop.page.locator('dialog[open] button[type="submit"]').click();
    await desktop.page.locator('li.pt[data-point="batumi-21"][data-condition="manual"]').waitFor({ timeout: 15_000 });
    await desktop.page.locator('#drawer button[data-command="mode-auto"]').click();
    await desktop.page.locator('dialog[open] button[type="submit"]').click();
    await waitFor(() => viewOf(central, 'batumi-21')?.mode === 'online', 'batumi-21 back in online mode', 15_000);
    await lookAt(desktop.page, 'point-drawer');
    // Esc belongs to an open dialog first: close the drawer only once the confirm dialog is gone.
    await desktop.page.locator('dialog[open]').waitFor({ state: 'detached', timeout: 10_000 });
    await desktop.page.keyboard.press('Escape');
    await desktop.page.locator('#drawer').waitFor({ state: 'hidden' });
    expect(await desktop.page.evaluate(FOCUSED_POINT)).toBe('batumi-21');

    // On the phone the drawer covers the screen and closes with Esc too.
    await openView(phone.page, 'fleet');
    await phone.page.locator('li.pt[data-point="tbilisi-21"] .pt-open').click();
    await phone.page.locator('#drawer table.checks caption', { hasText: 'Unknown since' }).waitFor({ timeout: 10_000 });
    await lookAt(phone.page, 'point-drawer');
    await phone.page.keyboard.press('Escape');
    await phone.page.locator('#drawer').waitFor({ state: 'hidden' });

    // Central stops: every open page says so, in red, within 10 s.
    const stopped = performance.now();
    centralRunning = false;
    await central.stop();
    for (const { page } of [phone, desktop]) {
      await page.locator('#banner:not([hidden])').waitFor({ timeout: 10_000 - (performance.now() - stopped) });
      expect(await page.locator('#banner').textContent()).toContain('Central does not answer');
      expect(await page.locator('#live').textContent()).toBe('no connection');
    }
    const banner = await computedStyle(phone.page.locator('#banner'), 'backgroundColor');
    const [r, g, b] = banner.match(/\d+/g)!.map(Number);
    expect(r).toBeGreaterThan(g! + 80);
    expect(r).toBeGreaterThan(b! + 80);
    expect([...phone.errors, ...desktop.errors]).toEqual([]);
  });

  it('chips a hot box in the fleet (ru, en, ka; phone and desktop); the Credentials view is for admins only', async () => {
    // A certificate for the Credentials view to list (besides whatever central's own config names).
    const { files } = await provisionCa(join(tempDir('dash-ca'), 'ca'));
    // One-second history buckets: the drawer has a temperature chart to draw within the test.
    const central = await startFleetCentral(tempDir('dash-hw'), { extra: { keys: { certificates: [files.caCert] }, history: { bucketMs: 1000 } } });
    running.push(central);
    const hot = new FakeHardware(tempDir('dash-hot'));
    hot.setTemperature(85);
    const hardware = (hw: FakeHardware) => ({ HOTPOT_CHECKS_HARDWARE_SYSFS_ROOT: hw.sysfsRoot, HOTPOT_CHECKS_HARDWARE_SMARTCTL: `${hw.binDir}/smartctl`, HOTPOT_CHECKS_HARDWARE_INTERVAL_MS: '300', HOTPOT_CHECKS_HARDWARE_FAIL_AFTER: '1' });
    await agentProcess(central, 'tbilisi-31', hardware(hot));
    await agentProcess(central, 'batumi-31', hardware(new FakeHardware(tempDir('dash-cool'))));
    await waitFor(() => viewOf(central, 'tbilisi-31')?.checks.temperature?.status === 'degraded' && viewOf(central, 'batumi-31')?.checks.temperature?.status === 'up', 'one hot box, one cool', 20_000);

    const browser: Browser = await launchBrowser();
    running.push({ stop: () => browser.close() });
    const admin = await userOf(central, 'tamar', 'admin');
    const operator = await signIn(browser, central, await userOf(central, 'giorgi', 'operator'), PHONE);
    const base = `http://127.0.0.1:${central.httpPort}`;
    const words = { en: 'temperature', ru: 'температура', ka: 'ტემპერატურა' };
    for (const viewport of [PHONE, DESKTOP]) {
      const { page, errors } = await signIn(browser, central, admin, viewport);
      for (const [lang, word] of Object.entries(words)) {
        await page.goto(`${base}/?lang=${lang}#fleet`);
        const chip = page.locator('li.pt[data-point="tbilisi-31"] .c-checks .chip[data-check="temperature"][data-status="degraded"]');
        await chip.waitFor({ timeout: 15_000 });
        expect(await chip.locator('.chip-name').textContent()).toBe(word);
        expect(await chip.getAttribute('title')).toContain('temperature over 80 °C');
        // Only a degraded or down hardware check earns a chip: the cool box shows the four.
        await page.locator('li.pt[data-point="batumi-31"][data-current="true"]').waitFor({ timeout: 15_000 });
        expect(await page.locator('li.pt[data-point="batumi-31"] .c-checks .chip').evaluateAll((chips) => chips.map((c) => c.getAttribute('data-check')))).toEqual(['internet', 'printer', 'camera', 'system']);
        await lookAt(page, `fleet-hardware-${lang}`);
      }
      await page.goto(`${base}/?lang=en#fleet`);
      await openView(page, 'credentials');
      const { body } = await httpJson<{ credentials: Array<{ id: string; status: string; expiresAt?: number }> }>(central.httpPort!, 'GET', '/api/credentials');
      expect(body.credentials.length).toBeGreaterThan(0);
      const rows = page.locator('ul.cred-list li.cred');
      await waitFor(async () => (await rows.count()) === body.credentials.length, 'every credential listed');
      for (const credential of body.credentials) {
        const row = page.locator(`li.cred[data-id="${credential.id}"]`);
        expect(await row.getAttribute('data-status')).toBe(credential.status);
        expect(await row.locator('.card-head .badge').textContent()).toBe({ ok: 'ok', rotate: 'due: rotate', expiring: 'due: expires soon', expired: 'expired' }[credential.status]);
        expect(await row.locator('dt').allTextContents()).toEqual(['Where', credential.expiresAt === undefined ? 'Age' : 'Expires', ...(credential.status === 'ok' ? ['Due'] : [])]);
        expect(await row.locator('dd').first().textContent()).not.toBe('');
        // Times in central's zone, like every other panel.
        expect(await row.locator('dd').nth(1).textContent()).toMatch(/\d\d:\d\d Tbilisi/);
      }
      await lookAt(page, 'credentials');
      for (const lang of ['ru', 'ka']) {
        await page.goto(`${base}/?lang=${lang}#credentials`);
        await page.locator('ul.cred-list li.cred').first().waitFor({ timeout: 10_000 });
        await lookAt(page, `credentials-${lang}`);
      }
      expect(errors).toEqual([]);
    }
    // The point drawer charts the temperature beside the box's use (a second report, hotter, makes a second bucket).
    hot.setTemperature(95);
    await waitFor(() => viewOf(central, 'tbilisi-31')?.checks.temperature?.status === 'down', 'the box too hot', 15_000);
    await operator.page.locator('li.pt[data-point="tbilisi-31"] .chip[data-check="temperature"][data-status="down"]').waitFor({ timeout: 15_000 });
    // The drawer reads the history once when it opens: open it once two buckets with a temperature are kept.
    await waitFor(
      async () =>
        (await httpJson<{ series: Array<{ temperature: number | null }> }>(central.httpPort!, 'GET', '/api/points/tbilisi-31/history?points=240')).body.series.filter((s) => s.temperature !== null).length >= 2,
      'two history buckets with a temperature',
      15_000,
    );
    await operator.page.locator('li.pt[data-point="tbilisi-31"] .pt-open').click();
    await operator.page.locator('#drawer .chart[aria-label="Temperature, °C"]').waitFor({ timeout: 15_000 });
    await lookAt(operator.page, 'point-drawer-temperature');
    await operator.page.keyboard.press('Escape');
    await operator.page.locator('#drawer').waitFor({ state: 'hidden' });

    // Any other role: no Credentials tab at all.
    await operator.page.locator('a.tab[data-view="fleet"]').waitFor();
    expect(await operator.page.locator('a.tab[data-view="credentials"]').count()).toBe(0);
    expect(await operator.page.locator('#view-credentials').count()).toBe(0);
    expect(operator.errors).toEqual([]);
  });
});
