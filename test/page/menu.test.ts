import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { sampleMenuFile } from '../../lib/paths.js';
import type { Menu } from '../../sync/schemas.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { startCentral } from '../helpers/inproc.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';
import { launchChromium, openStaffPage, ordersOnDisk, startPageAgent } from './harness.js';
import { brokerOf } from '../helpers/logins.js';

interface Issue {
  path: string;
  message: string;
}

/** The sample menu plus a sweets category, and khinkali at a new price. */
function centralMenu(): Menu {
  const menu = JSON.parse(readFileSync(sampleMenuFile(), 'utf8')) as Menu;
  return {
    currency: menu.currency,
    categories: [...menu.categories, { id: 'sweets', name: { en: 'Sweets', ru: 'Сладости', ka: 'ტკბილეული' } }],
    items: [
      ...menu.items.map((item) => (item.sku === 'khinkali-meat' ? { ...item, price: 170 } : item)),
      { sku: 'churchkhela', category: 'sweets', price: 550, name: { en: 'Churchkhela', ru: 'Чурчхела', ka: 'ჩურჩხელა' } },
    ],
  };
}

async function agentMenu(agent: Agent): Promise<Menu> {
  return (await httpJson<Menu>(agent.httpPort!, 'GET', '/api/menu')).body;
}

describeWithPeers('menu published by central', [peers.chromium()], () => {
  let dir: string;
  let brokerPort: number;
  let central: Central;
  let agent: Agent;
  let browser: Browser;

  beforeAll(async () => {
    dir = tempDir('menu');
    brokerPort = await freePort();
    central = await startCentral(dir, { brokerPort });
    agent = await startPageAgent(dir, 'tbilisi-05', brokerOf(central));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await central?.stop();
  });

  it.each([
    ['a fractional price', (menu: Menu) => (menu.items[0] = { ...menu.items[0]!, price: 1.5 }), 'items.0.price'],
    ['an unknown category', (menu: Menu) => (menu.items[1] = { ...menu.items[1]!, category: 'desserts' }), 'items.1.category'],
    ['a duplicate sku', (menu: Menu) => (menu.items[2] = { ...menu.items[2]!, sku: menu.items[0]!.sku }), 'items.2.sku'],
    ['a missing Georgian name', (menu: Menu) => (menu.categories[0] = { id: menu.categories[0]!.id, name: { en: 'X', ru: 'X' } as Menu['categories'][number]['name'] }), 'categories.0.name.ka'],
  ])('refuses a menu with %s naming the field, and keeps none', async (_label, spoil, field) => {
    const bad = centralMenu();
    spoil(bad);
    const res = await httpJson<{ error: string; issues: Issue[] }>(central.httpPort!, 'PUT', '/api/menu', bad);
    expect(res.status).toBe(400);
    expect(res.body.issues.map((issue) => issue.path)).toContain(field);
    expect((await httpJson(central.httpPort!, 'GET', '/api/menu')).status).toBe(404);
    expect((await agentMenu(agent)).items.some((item) => item.sku === 'churchkhela')).toBe(false);
  });

  it('publishes a good menu retained; the point sells from it and the page shows it', async () => {
    const res = await httpJson<{ version: number; published: boolean; items: number }>(central.httpPort!, 'PUT', '/api/menu', centralMenu());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 1, published: true, items: 18 });
    expect((await httpJson<Menu>(central.httpPort!, 'GET', '/api/menu')).body.items).toHaveLength(18);
    await waitFor(async () => (await agentMenu(agent)).items.some((item) => item.sku === 'churchkhela'), 'the point to get the menu', 15_000);
    expect(agent.menu.source).toBe('central');

    const page = await browser.newPage();
    await openStaffPage(page, agent.httpPort!);
    await page.getByRole('button', { name: 'Churchkhela 5.50 ₾' }).click();
    await page.locator('button.item[data-sku="khinkali-meat"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved № /);
    // Prices come from central's menu (khinkali at its new 1.70), never from the page.
    expect(ordersOnDisk(agent.store.file).at(-1)?.total).toBe(550 + 170);
  });

  it('keeps the menu across a box restart with no link, and publishes it again when central restarts', async () => {
    await agent.stop();
    agent = await startPageAgent(dir, 'tbilisi-05', `mqtt://127.0.0.1:${await freePort()}`);
    expect((await agentMenu(agent)).items.some((item) => item.sku === 'churchkhela')).toBe(true);

    // The embedded broker keeps retained messages in memory only: central re-publishes on start.
    await central.stop();
    central = await startCentral(dir, { brokerPort });
    const newcomer = await startPageAgent(dir, 'poti-01', brokerOf(central));
    try {
      await waitFor(async () => (await agentMenu(newcomer)).items.some((item) => item.sku === 'churchkhela'), 'a new point to get the menu', 15_000);
    } finally {
      await newcomer.stop();
    }
  });
});
