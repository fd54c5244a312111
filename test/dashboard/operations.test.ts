import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { waitFor } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { agentMqttEnv, brokerOf } from '../helpers/logins.js';
import { throwawayDatabase } from '../peers/postgres.js';
import { startHttpReceiver } from '../notify/receivers.js';
import { startFleetCentral, viewOf } from '../fleet/helpers.js';
import { SalesServer } from '../peers/sales-server.js';
import { FAST_UPSTREAM } from '../upstream/central.js';
import { makeOrders, makeVoid, publishOrders } from '../upstream/orders.js';
import { DESKTOP, PHONE, launchBrowser, lookAt, signIn, userOf } from './browser.js';

describeWithPeers('backups and incidents on the dashboard (real PostgreSQL, chat receiver, agents, Chromium)', [peers.chromium(), peers.postgres()], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function browser(): Promise<Browser> {
    const launched = await launchBrowser();
    running.push({ stop: () => launched.close() });
    return launched;
  }

  it('runs a PostgreSQL backup from the phone and shows it verified, with its sha256, checks and next run in Tbilisi time', async () => {
    const source = await throwawayDatabase('hotpot_dash');
    running.push({ stop: () => source.drop() });
    await source.query('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 25)');
    const dir = tempDir('dash-backups');
    writeFileSync(join(dir, 'central.json'), '{}');
    const central = await startFleetCentral(dir, {
      extra: {
        backups: {
          dir: join(dir, 'backups'),
          postgres: { url: source.url, schedules: { daily: { cron: '0 3 * * *' } }, verify: { checks: [{ name: 'orders', query: 'SELECT count(*) FROM orders', min: 1 }] } },
          config: { paths: [join(dir, 'central.json')] },
        },
      },
    });
    running.push(central);
    const { page, errors } = await signIn(await browser(), central, await userOf(central, 'nino', 'operator'), PHONE, '#backups');
    const card = page.locator('article.kind[data-kind="postgres"]');
    await card.waitFor({ timeout: 10_000 });
    expect(await card.textContent()).toContain('none yet');
    expect(await card.locator('.tier[data-tier="daily"]').textContent()).toMatch(/^daily: (\d\d\.\d\d )?03:00 Tbilisi \(in \d+ (min|h)\) \(cron 0 3 \* \* \*\)$/);
    await lookAt(page, 'backups-empty');

    await card.locator('button.run-now').click();
    const verified = card.locator('.last-good[data-verify="passed"]');
    await verified.waitFor({ timeout: 60_000 });
    const overview = await httpJson<{ backups: Array<{ id: string; kind: string; sha256: string; size: number; verify: string }> }>(central.httpPort!, 'GET', '/api/backups');
    const backup = overview.body.backups.find((b) => b.kind === 'postgres')!;
    expect(backup.verify).toBe('passed');
    expect(await verified.getAttribute('data-id')).toBe(backup.id);
    expect(await verified.locator('.sha code').textContent()).toBe(backup.sha256);
    expect(await verified.locator('.checks-list').textContent()).toContain('orders: "25" ok');
    expect(await verified.textContent()).toMatch(/\d\d:\d\d Tbilisi \(\d+ s ago\)/);
    expect(await card.locator('button.run-now').isEnabled()).toBe(true);
    await page.locator('li.backup[data-kind="postgres"][data-verify="passed"]').waitFor();
    await lookAt(page, 'backups');
    expect(errors).toEqual([]);
  });

  it('silences a point from the phone: its disconnect shows silenced and pages nobody, while another point pages the chat; comment and resolve', async () => {
    const chat = await startHttpReceiver();
    running.push({ stop: () => chat.close() });
    const dir = tempDir('dash-silence');
    const central = await startFleetCentral(dir, {
      extra: { alerts: { tickMs: 200, disconnected: { afterMs: 1000 } }, notify: { channels: { chat: { webhookUrl: `${chat.url}/hooks/team` } } } },
    });
    running.push(central);
    const agents = new Map<string, HotpotProcess>();
    for (const pointId of ['kutaisi-31', 'rustavi-31']) {
      const agent = await startHotpot('agent', { HOTPOT_POINT_ID: pointId, HOTPOT_DATA_DIR: tempDir(`dash-${pointId}`), ...agentMqttEnv(brokerOf(central), pointId), HOTPOT_MQTT_KEEPALIVE: '2', HOTPOT_HTTP_PORT: '0' });
      running.push({ stop: () => agent.kill('SIGKILL') });
      agents.set(pointId, agent);
    }
    await waitFor(() => ['kutaisi-31', 'rustavi-31'].every((id) => viewOf(central, id)?.connected), 'both agents connected', 20_000);
    const launched = await browser();
    const phone = await signIn(launched, central, await userOf(central, 'nino', 'operator'), PHONE, '#incidents');
    const desktop = await signIn(launched, central, await userOf(central, 'tamar', 'viewer'), DESKTOP, '#incidents');

    // Maintenance on kutaisi-31: silenced for an hour from the phone.
    await phone.page.locator('#new-silence').click();
    const form = phone.page.locator('dialog[open]');
    await form.locator('select[name="kind"]').selectOption('pointId');
    await form.locator('input[name="value"]').fill('kutaisi-31');
    await form.locator('select[name="duration"]').selectOption(String(3_600_000));
    await form.locator('textarea[name="reason"]').fill('replacing the router');
    await lookAt(phone.page, 'silence-dialog');
    await form.locator('button[type="submit"]').click();
    await phone.page.locator('li.silence', { hasText: 'point kutaisi-31' }).waitFor({ timeout: 10_000 });
    // A viewer sees silences and incidents but gets no buttons to change them.
    expect(await desktop.page.locator('#new-silence').count()).toBe(0);

    await agents.get('kutaisi-31')!.kill('SIGKILL');
    await agents.get('rustavi-31')!.kill('SIGKILL');
    // The unsilenced point pages the team chat: the receiver works.
    await waitFor(() => chat.requests.some((r) => r.body.includes('rustavi-31')), 'the chat page about rustavi-31', 30_000);
    const silenced = phone.page.locator('li.incident[data-key="point:kutaisi-31:disconnected"][data-silenced="true"]');
    await silenced.waitFor({ timeout: 15_000 });
    expect(await silenced.locator('.silenced').textContent()).toMatch(/^silenced until \d\d:\d\d Tbilisi by nino: replacing the router$/);
    const incidentId = (await silenced.getAttribute('data-id'))!;
    // Central's notifier has handled it (its timeline says silenced) and nothing went out about it.
    await waitFor(
      async () => (await httpJson<{ timeline: Array<{ text: string }> }>(central.httpPort!, 'GET', `/api/incidents/${incidentId}`)).body.timeline.some((e) => e.text.startsWith('silenced by nino')),
      'the notifier to note the silence',
      15_000,
    );
    expect(chat.requests.filter((r) => r.body.includes('kutaisi-31'))).toEqual([]);
    await desktop.page.locator('li.incident[data-key="point:kutaisi-31:disconnected"][data-silenced="true"]').waitFor({ timeout: 10_000 });
    await lookAt(phone.page, 'incidents-silenced');
    await lookAt(desktop.page, 'incidents-silenced');

    // The paged incident: who was told what (the chat, delivered), then a comment and a resolve from the phone.
    const paged = phone.page.locator('li.incident[data-key="point:rustavi-31:disconnected"]');
    await paged.locator(':scope > .incident-row button.title').click();
    const ladder = phone.page.locator('#drawer table.ladder tr[data-channel="chat"][data-status="sent"]');
    await ladder.waitFor({ timeout: 15_000 });
    expect(await ladder.textContent()).toContain('delivered');
    await phone.page.locator('#comment-text').fill('router replaced, watching');
    await phone.page.locator('form.comment button[type="submit"]').click();
    await phone.page.locator('#drawer ol.timeline li[data-kind="comment"]', { hasText: 'nino: router replaced, watching' }).waitFor({ timeout: 10_000 });
    await lookAt(phone.page, 'incident-drawer');
    await phone.page.locator('#drawer .actions button.resolve').click();
    await phone.page.locator('dialog[open] textarea[name="reason"]').fill('the box will be replaced tomorrow');
    await phone.page.locator('dialog[open] button[type="submit"]').click();
    await waitFor(() => central.incidents.openFor('point:rustavi-31:disconnected') === null, 'the incident resolved by hand', 10_000);
    // Esc belongs to an open dialog first: close the drawer only once the resolve dialog is gone.
    await phone.page.locator('dialog[open]').waitFor({ state: 'detached', timeout: 10_000 });
    await phone.page.keyboard.press('Escape');
    await phone.page.locator('#drawer').waitFor({ state: 'hidden', timeout: 10_000 });
    await phone.page.locator('li.incident[data-key="point:rustavi-31:disconnected"]').waitFor({ state: 'detached', timeout: 10_000 });

    // The silence ends by hand from the phone.
    await phone.page.locator('li.silence', { hasText: 'point kutaisi-31' }).locator('button').click();
    await phone.page.locator('dialog[open] button[type="submit"]').click();
    await phone.page.locator('li.silence', { hasText: 'point kutaisi-31' }).waitFor({ state: 'detached', timeout: 10_000 });
    expect([...phone.errors, ...desktop.errors]).toEqual([]);
  });

  it('shows orders and voids the main server refused as parked and sends them again from the phone once it accepts them', async () => {
    const sales = await new SalesServer().start();
    running.push({ stop: () => sales.close() });
    const orders = makeOrders('gori-41', 4);
    const refusedVoid = makeVoid(orders[2]!, 'wrong table');
    sales.control({ rules: [{ behaviour: 'validationFailure', ids: [orders[1]!.id] }, { behaviour: 'reject400', ids: [refusedVoid.id] }] });
    const central = await startFleetCentral(tempDir('dash-forward'), { extra: { upstream: { ...FAST_UPSTREAM, url: sales.url } } });
    running.push(central);
    await publishOrders(brokerOf(central), orders, [refusedVoid]);
    await waitFor(() => sales.stats().recorded === 3, 'the 3 accepted orders recorded', 30_000);
    const { page, errors } = await signIn(await browser(), central, await userOf(central, 'nino', 'operator'), PHONE, '#runbooks');
    const card = page.locator('section.forwarding article.card');
    await card.locator('dd', { hasText: '0 waiting, 1 parked' }).waitFor({ timeout: 20_000 });
    await card.locator('dd', { hasText: '0 waiting (0 for their sale), 1 parked, 0 forwarded' }).waitFor({ timeout: 20_000 });
    await card.locator('details summary').click();
    expect(await card.locator('.checks-list').textContent()).toContain(`${orders[1]!.number}: success: false`);
    await lookAt(page, 'forwarding');

    // The main server is fixed: send the parked order again.
    sales.control({ rules: [] });
    await card.locator('button.redrive').click();
    expect(await page.locator('dialog[open]').textContent()).toContain('2 orders and voids the main server refused go to it again');
    await page.locator('dialog[open] button[type="submit"]').click();
    await waitFor(() => sales.stats().recorded === 4 && sales.stats().voids.length === 1, 'the parked order and void recorded after the redrive', 30_000);
    await page.locator('section.forwarding dd', { hasText: '0 waiting, 0 parked' }).waitFor({ timeout: 20_000 });
    await page.locator('section.forwarding dd', { hasText: '0 waiting (0 for their sale), 0 parked, 1 forwarded' }).waitFor({ timeout: 20_000 });
    expect(errors).toEqual([]);
  });
});
