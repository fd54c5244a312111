import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { ConfigError } from '../../lib/config.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { freePort } from '../peers/net.js';
import { capturedLogger, launchChromium, openStaffPage, ordersOnDisk, screenshot, startPageAgent } from './harness.js';

interface Refusal {
  error: string;
  code: string;
  limit?: string;
  max?: number;
  amount?: number;
  retryAfterSec?: number;
}

const beef = (qty = 1) => ({ items: [{ sku: 'beef-slices', qty }], payment: 'cash' }); // 22.00 each
const tea = (qty = 1) => ({ items: [{ sku: 'green-tea', qty }], payment: 'card' }); // 4.00 each

describeWithPeers('offline limits and the manager PIN', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;
  const logged = capturedLogger();

  beforeAll(async () => {
    // No broker: the box is offline, where the limits apply.
    agent = await startPageAgent(
      tempDir('limits'),
      'kutaisi-01',
      `mqtt://127.0.0.1:${await freePort()}`,
      { limits: { maxOrderTotal: 2000, maxOfflineTotal: 5000 }, pins: { manager: '4321' } },
      () => ({ log: logged.log }),
    );
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('asks for the manager PIN over the per-order limit (API), stores nothing until it is right', async () => {
    const port = agent.httpPort!;
    expect((await httpJson(port, 'POST', '/api/orders', tea(3))).status).toBe(201); // 12.00 offline
    const missing = await httpJson<Refusal>(port, 'POST', '/api/orders', beef());
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ code: 'manager_pin_required', limit: 'maxOrderTotal', max: 2000, amount: 2200 });
    expect(missing.body.error).toBe('22.00 GEL is over the offline limit per order of 20.00 GEL: a manager PIN is needed');
    const wrong = await httpJson<Refusal>(port, 'POST', '/api/orders', { ...beef(), managerPin: '1111' });
    expect(wrong.status).toBe(403);
    // A wrong PIN keeps the facts, so the page can ask again with the same amounts.
    expect(wrong.body).toMatchObject({ code: 'manager_pin_wrong', limit: 'maxOrderTotal', max: 2000, amount: 2200 });
    expect(ordersOnDisk(agent.store.file)).toHaveLength(1);
    const approved = await httpJson<{ number: string }>(port, 'POST', '/api/orders', { ...beef(), managerPin: '4321', clientRef: 'over-1' });
    expect(approved.status).toBe(201);
    expect(ordersOnDisk(agent.store.file)).toHaveLength(2);
    expect(logged.lines.some((line) => line.msg === 'order over an offline limit approved with the manager PIN')).toBe(true);
    // A retry of the saved order is answered from the store, not refused by the limit.
    expect((await httpJson(port, 'POST', '/api/orders', { ...beef(), clientRef: 'over-1' })).status).toBe(200);
    expect(JSON.stringify(logged.lines)).not.toMatch(/(?<![0-9])4321(?![0-9])/); // the PIN, not a port or a time that holds its digits
  });

  it('counts every unsynced offline order against the offline sales limit', async () => {
    // 12.00 + 22.00 already offline and unsynced; 4 teas (16.00) would make 50.00: allowed; one more tea is not.
    expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', tea(4))).status).toBe(201);
    const over = await httpJson<Refusal>(agent.httpPort!, 'POST', '/api/orders', tea(1));
    expect(over.status).toBe(403);
    expect(over.body).toMatchObject({ code: 'manager_pin_required', limit: 'maxOfflineTotal', max: 5000, amount: 5400 });
    expect(ordersOnDisk(agent.store.file)).toHaveLength(3);
  });

  it('on the page: a dialog asks for the manager PIN, says when it is wrong, and saves once it is right', async () => {
    const page = await (await browser.newContext()).newPage();
    await openStaffPage(page, agent.httpPort!);
    await page.locator('button.item[data-sku="lamb-slices"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    const dialog = page.getByRole('dialog', { name: 'Manager PIN needed' });
    await dialog.waitFor({ timeout: 10_000 });
    expect(await page.locator('#pin-reason').textContent()).toBe('This order (24.00 ₾) is over the offline limit per order (20.00 ₾).');
    await screenshot(page, 'manager-pin');
    await page.getByRole('textbox', { name: 'Manager PIN', exact: true }).fill('0000');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#pin-error').textContent(), { timeout: 10_000 }).toBe('Wrong PIN. Try again.');
    expect(await page.locator('#pin-reason').textContent()).toBe('This order (24.00 ₾) is over the offline limit per order (20.00 ₾).');
    expect(ordersOnDisk(agent.store.file)).toHaveLength(3);
    await page.getByRole('textbox', { name: 'Manager PIN', exact: true }).fill('4321');
    await page.getByRole('button', { name: 'Approve and save' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № kutaisi-01-000004');
    expect(ordersOnDisk(agent.store.file).at(-1)).toMatchObject({ total: 2400 });
  });

  it('locks out a client guessing the manager PIN, and logs the lockout', async () => {
    let last: Refusal | undefined;
    let status = 0;
    for (let i = 0; i < 6 && status !== 429; i++) {
      const res = await httpJson<Refusal>(agent.httpPort!, 'POST', '/api/orders', { ...beef(), managerPin: `9${i}99` });
      status = res.status;
      last = res.body;
    }
    expect(status).toBe(429);
    expect(last).toMatchObject({ code: 'pin_locked' });
    expect(logged.lines.find((line) => line.msg === 'PIN lockout: too many wrong attempts')).toMatchObject({ role: 'manager', client: '127.0.0.1' });
    // Even the right PIN waits out the lockout.
    expect((await httpJson<Refusal>(agent.httpPort!, 'POST', '/api/orders', { ...beef(), managerPin: '4321' })).status).toBe(429);
  });
});

describeWithPeers('staff PIN when the page is exposed beyond the box', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;
  const logged = capturedLogger();

  beforeAll(async () => {
    // Bound to every interface (the shop LAN); the test still talks to 127.0.0.1 only.
    agent = await startPageAgent(tempDir('access'), 'tbilisi-02', `mqtt://127.0.0.1:${await freePort()}`, { http: { host: '0.0.0.0' }, pins: { staff: '2468' } }, () => ({
      log: logged.log,
    }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('refuses a LAN-exposed config without a staff PIN', () => {
    expect(() => loadAgentConfig(undefined, {}, { pointId: 'x', http: { host: '0.0.0.0' } })).toThrow(ConfigError);
    expect(() => loadAgentConfig(undefined, {}, { pointId: 'x', http: { host: '0.0.0.0' } })).toThrow(/pins\.staff: is required when http\.host \(0\.0\.0\.0\) is not loopback/);
  });

  it('answers only /api/health and the login without a session', async () => {
    const port = agent.httpPort!;
    expect((await httpJson(port, 'GET', '/api/health')).status).toBe(200);
    const root = await httpJson(port, 'GET', '/');
    expect(root.status).toBe(303);
    expect(root.headers.location).toBe('/login');
    for (const [method, path] of [
      ['GET', '/api/orders'],
      ['GET', '/api/menu'],
      ['GET', '/api/reconciliation'],
      ['POST', '/api/orders'],
    ] as const) {
      const res = await httpJson<Refusal>(port, method, path, method === 'POST' ? tea() : undefined);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.code).toBe('login_required');
    }
    expect(ordersOnDisk(agent.store.file)).toHaveLength(0);
  });

  it('logs in through the form with an HttpOnly SameSite=Strict session cookie', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await openStaffPage(page, agent.httpPort!);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Staff PIN').fill('1357');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.locator('#login-message').textContent(), { timeout: 10_000 }).toBe('Wrong PIN. Try again.');
    await screenshot(page, 'login');
    await page.getByLabel('Staff PIN').fill('2468');
    await page.keyboard.press('Enter');
    await page.waitForURL(`http://127.0.0.1:${agent.httpPort}/`, { timeout: 10_000 });
    await page.waitForSelector('body[data-ready="true"]');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'hotpot_staff', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('document.cookie')).toBe('');
    // Logged in, the page sells.
    await page.locator('button.item[data-sku="green-tea"]').click();
    await page.getByLabel('Card').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Saved № tbilisi-02-000001');
    // Logging out ends the session on the box, not just in the browser.
    const session = `${cookie!.name}=${cookie!.value}`;
    expect((await httpJson(agent.httpPort!, 'GET', '/api/orders', undefined, { cookie: session })).status).toBe(200);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/, { timeout: 10_000 });
    expect((await httpJson(agent.httpPort!, 'GET', '/api/orders', undefined, { cookie: session })).status).toBe(401);
    await context.close();
  });

  it('rate-limits wrong staff PINs and logs the lockout', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await httpJson(agent.httpPort!, 'POST', '/api/login', { pin: `00${i}0` })).status);
    // (The right PIN typed in the browser test cleared that client's earlier failure.)
    expect(statuses).toEqual([403, 403, 403, 403, 429, 429]);
    const locked = await httpJson<Refusal>(agent.httpPort!, 'POST', '/api/login', { pin: '2468' });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toMatch(/^too many wrong staff PINs: try again in \d+ min$/);
    expect(logged.lines.find((line) => line.msg === 'PIN lockout: too many wrong attempts')).toMatchObject({ role: 'staff', level: 40 });
    expect(JSON.stringify(logged.lines)).not.toMatch(/(?<![0-9])2468(?![0-9])/);
  });
});

describe('requests from other sites', () => {
  let agent: Agent;

  beforeAll(async () => {
    agent = await startPageAgent(tempDir('cross-site'), 'batumi-03', `mqtt://127.0.0.1:${await freePort()}`);
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('refuses a POST whose Origin is another site (CSRF), storing nothing', async () => {
    const res = await httpJson<Refusal>(agent.httpPort!, 'POST', '/api/orders', tea(), { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('cross_site');
    expect(ordersOnDisk(agent.store.file)).toHaveLength(0);
    const own = await httpJson(agent.httpPort!, 'POST', '/api/orders', tea(), { origin: `http://127.0.0.1:${agent.httpPort}` });
    expect(own.status).toBe(201);
  });

  it('refuses a Host that is not the box itself while bound to loopback (DNS rebinding)', async () => {
    const res = await httpJson<Refusal>(agent.httpPort!, 'GET', '/api/orders', undefined, { host: `evil.example:${agent.httpPort}` });
    expect(res.status).toBe(403);
    expect((await httpJson(agent.httpPort!, 'GET', '/api/orders', undefined, { host: `localhost:${agent.httpPort}` })).status).toBe(200);
  });
});
