import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { sampleOrder } from '../helpers/inproc.js';
import { freePort } from '../peers/net.js';
import { launchChromium, openStaffPage, screenshot, startPageAgent } from './harness.js';

const SCREENS = [
  { width: 1280, height: 800 },
  { width: 800, height: 1280 },
  { width: 1024, height: 600 },
  { width: 390, height: 844 },
] as const;
const LANGUAGES = ['ru', 'en', 'ka'] as const;

/**
 * The open dialog, measured in the page: inside the viewport, nothing wider than it or sticking
 * out of it, no page overflow, and the labels of what is visible in it (to see the language took).
 */
async function measureDialog(page: Page, selector: string) {
  return page.evaluate((sel) => {
    const dialog = document.querySelector(sel)!;
    const box = dialog.getBoundingClientRect();
    const sticking = [...dialog.querySelectorAll('*')]
      .filter((el) => (el as HTMLElement).offsetParent !== null || el.tagName === 'OPTION')
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5))
      .map(({ el }) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${(el.textContent ?? '').slice(0, 40)}`);
    return {
      inViewport: box.left >= 0 && box.top >= 0 && box.right <= innerWidth && box.bottom <= innerHeight,
      innerOverflow: dialog.scrollWidth - dialog.clientWidth,
      pageOverflow: document.scrollingElement!.scrollWidth - innerWidth,
      sticking,
    };
  }, selector);
}

/** Every control of the void flow the cashier taps is at least 44 px each way. */
async function expectTappable(page: Page, selector: string): Promise<void> {
  for (const box of await page.locator(selector).evaluateAll((nodes) => nodes.filter((n) => (n as HTMLElement).offsetParent !== null).map((n) => n.getBoundingClientRect().toJSON() as DOMRect))) {
    expect(Math.min(box.width, box.height), selector).toBeGreaterThanOrEqual(44);
  }
}

describeWithPeers('voiding orders from the staff page (real Chromium)', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;
  /** The box's clock runs this far ahead of the wall clock: a later void is past limits.voidWithoutPinMinutes. */
  let ahead = 0;

  beforeAll(async () => {
    // No broker: the box works offline; voids wait in its outbox like orders.
    agent = await startPageAgent(tempDir('page-voids'), 'rustavi-01', `mqtt://127.0.0.1:${await freePort()}`, { pins: { manager: '4321' }, limits: { voidWithoutPinMinutes: 5 } }, () => ({
      clock: { now: () => Date.now() + ahead },
    }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('voids an order from its detail on a phone (reason required), and a later one from the list with the manager PIN on a till', async () => {
    const port = agent.httpPort!;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await httpJson<{ id: string }>(port, 'POST', '/api/orders', sampleOrder(i))).body.id);

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await openStaffPage(phone, port);
    await phone.locator('[data-view="today"]').click();
    const first = phone.locator(`#orders tr[data-order-id="${ids[0]}"]`);
    await first.locator('td.number').click(); // a tap on the row opens its detail
    await phone.locator('#order-dialog[open]').waitFor();
    expect(await phone.locator('#order-title').textContent()).toBe('Order № rustavi-01-000001');
    await expectTappable(phone, '#order-dialog button');
    await phone.locator('#order-void').click();
    await phone.locator('#void-dialog[open]').waitFor();
    await phone.locator('#void-ok').click();
    expect(await phone.locator('#void-error').textContent()).toBe('Write why the order is voided.');
    expect(agent.store.get(ids[0]!)!.void).toBeFalsy();
    await phone.locator('#void-reason').fill('wrong dish');
    await expectTappable(phone, '#void-dialog button, #void-dialog input');
    await screenshot(phone, 'void-dialog-390');
    await phone.locator('#void-ok').click();
    await expect.poll(() => first.getAttribute('class')).toBe('voided');
    expect(await first.locator('td.note').textContent()).toBe('Voided: wrong dish');
    expect(agent.store.get(ids[0]!)!.void).toMatchObject({ reason: 'wrong dish', approvedBy: 'staff' });
    expect(await first.locator('button', { hasText: 'Void' }).isHidden()).toBe(true);
    await screenshot(phone, 'voided-390');
    await phone.close();

    // Ten minutes later the second order needs the manager: the box answers 403, the page asks for the PIN.
    ahead = 10 * 60_000;
    const till = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openStaffPage(till, port);
    await till.locator('#lang').selectOption('ka');
    await till.locator('[data-view="today"]').click();
    const second = till.locator(`#orders tr[data-order-id="${ids[1]}"]`);
    const voidButton = second.locator('button.danger');
    expect(await voidButton.textContent()).toBe('ანულირება');
    await expectTappable(till, '#orders button');
    await voidButton.click();
    await till.locator('#void-reason').fill('customer left');
    await till.locator('#void-ok').click();
    await till.locator('#void-pin').waitFor({ state: 'visible' });
    expect(await till.locator('#void-pin-why').textContent()).toBe('შეკვეთა 5 წუთზე ძველია: საჭიროა მენეჯერის PIN.');
    await till.locator('#void-pin').fill('1111');
    await till.locator('#void-ok').click();
    await expect.poll(() => till.locator('#void-error').textContent()).toBe('არასწორი PIN. სცადეთ თავიდან.');
    expect(agent.store.get(ids[1]!)!.void).toBeFalsy();
    await till.locator('#void-pin').fill('4321');
    await screenshot(till, 'void-pin-1280');
    await till.locator('#void-ok').click();
    await expect.poll(() => second.getAttribute('class')).toBe('voided');
    expect(agent.store.get(ids[1]!)!.void).toMatchObject({ reason: 'customer left', approvedBy: 'manager' });
    expect(await till.locator('#void-dialog').getAttribute('open')).toBeNull();
    await screenshot(till, 'voided-1280');
    await till.close();
  });
  it('opens the order detail and the void dialog (with the manager-PIN step) at every size in ru, en and ka: no overflow, nothing out of the dialog, controls 44 px', async () => {
    const port = agent.httpPort!;
    const { id } = (await httpJson<{ id: string }>(port, 'POST', '/api/orders', { ...sampleOrder(7), note: 'Без лука, соус отдельно, принести вместе с бульоном' })).body;
    ahead += 10 * 60_000; // old enough to need the manager: the dialog shows its longest state
    for (const lang of LANGUAGES) {
      for (const size of SCREENS) {
        const where = `${lang} ${size.width}×${size.height}`;
        const context = await browser.newContext({ viewport: size });
        try {
          const page = await context.newPage();
          await openStaffPage(page, port);
          await page.locator('#lang').selectOption(lang);
          await page.locator('[data-view="today"]').click();
          await page.locator(`#orders tr[data-order-id="${id}"] td.number`).click();
          await page.locator('#order-dialog[open]').waitFor();
          expect(await measureDialog(page, '#order-dialog'), `${where}: order detail`).toEqual({ inViewport: true, innerOverflow: 0, pageOverflow: 0, sticking: [] });
          await expectTappable(page, '#order-dialog button');
          await page.locator('#order-void').click();
          await page.locator('#void-dialog[open]').waitFor();
          await page.locator('#void-reason').fill('Гость ушёл, не дождавшись заказа — блюдо не готовили');
          await page.locator('#void-ok').click();
          await page.locator('#void-pin').waitFor({ state: 'visible' });
          expect(await measureDialog(page, '#void-dialog'), `${where}: void dialog`).toEqual({ inViewport: true, innerOverflow: 0, pageOverflow: 0, sticking: [] });
          await expectTappable(page, '#void-dialog button, #void-dialog input');
          if (size.width === 390 || size.height === 600) await screenshot(page, `void-pin-${lang}-${size.width}x${size.height}`);
          await page.locator('#void-cancel').click();
          expect(agent.store.get(id)!.void).toBeFalsy();
        } finally {
          await context.close();
        }
      }
    }
  });
});
