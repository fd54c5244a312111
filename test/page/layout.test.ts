/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions handed to page.evaluate run in Chromium.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { freePort } from '../peers/net.js';
import { ARTIFACTS, launchChromium, startPageAgent } from './harness.js';

/** Where the layout screenshots are kept (README: "Staff page screenshots"). */
const SHOTS = join(ARTIFACTS, 'layout');

const SCREENS = [
  { name: 'tablet-landscape', width: 1280, height: 800 },
  { name: 'tablet-portrait', width: 800, height: 1280 },
  { name: 'box-7in', width: 1024, height: 600 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const LANGUAGES = ['ru', 'en', 'ka'] as const;

/** What the runbook's notice step posts when the main server is down, in every language. */
const NOTICE = {
  id: 'main-server-down',
  severity: 'critical' as const,
  text: {
    en: 'The main server is down. Orders are kept on this box and will be sent when it is back.',
    ru: 'Основной сервер недоступен. Заказы сохраняются на этом устройстве и будут отправлены, когда он вернётся.',
    ka: 'მთავარი სერვერი მიუწვდომელია. შეკვეთები ინახება ამ მოწყობილობაზე და გაიგზავნება, როცა ის დაბრუნდება.',
  },
  since: Date.now(),
};

/** A 12-line order with the longest names of the sample menu (the Sichuan broth among them) and an open item. */
const TWELVE_LINES = [
  { sku: 'khinkali-meat', qty: 10 },
  { sku: 'broth-sichuan', qty: 1 },
  { sku: 'beef-slices', qty: 2 },
  { sku: 'lamb-slices', qty: 1 },
  { sku: 'khachapuri-adjaruli', qty: 1 },
  { sku: 'napa-cabbage', qty: 3 },
  { sku: 'mushroom-platter', qty: 1 },
  { sku: 'broth-tomato', qty: 1 },
  { sku: 'khinkali-mushroom', qty: 5 },
  { sku: 'tarkhuna', qty: 4 },
  { sku: 'green-tea', qty: 2 },
  { name: 'Сет «Семейный» на шестерых с двойным бульоном', unitPrice: 9990, qty: 1 },
];

/**
 * What a cashier trips over, measured in the page: horizontal overflow, the total or Save off
 * screen, and any visible part of an order line's name under a control. Scroll panes clip what
 * they scroll away, so each box counts only where its scroll ancestors show it.
 */
async function measure(page: Page) {
  return page.evaluate(() => {
    const visible = (el: Element) => {
      let r = el.getBoundingClientRect();
      let box = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (style.overflowX !== 'visible' || style.overflowY !== 'visible') {
          r = p.getBoundingClientRect();
          box = { left: Math.max(box.left, r.left), top: Math.max(box.top, r.top), right: Math.min(box.right, r.right), bottom: Math.min(box.bottom, r.bottom) };
        }
      }
      return box;
    };
    const area = (a: { left: number; top: number; right: number; bottom: number }, b: typeof a) =>
      Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
    const inside = (id: string) => {
      const r = document.getElementById(id)!.getBoundingClientRect();
      return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
    };
    const controls = [...document.querySelectorAll('button, input, select, textarea')].filter((c) => (c as HTMLElement).offsetParent !== null);
    const covered: string[] = [];
    const names = [...document.querySelectorAll('#lines .line-name > span')];
    for (const name of names) {
      const box = visible(name);
      for (const control of controls) {
        if (control.contains(name) || name.contains(control)) continue;
        if (area(box, visible(control)) > 1) covered.push(`${name.textContent} under ${control.getAttribute('aria-label') ?? control.textContent}`);
      }
    }
    const ticket = document.querySelector('.ticket')!.getBoundingClientRect();
    return {
      overflow: document.scrollingElement!.scrollWidth - innerWidth,
      pageScrolled: scrollY,
      totalInView: inside('total'),
      saveInView: inside('save'),
      messageInView: inside('message'),
      lines: names.length,
      covered,
      // A readable name is at least a third of the order pane wide and never cut sideways.
      narrowNames: names.filter((n) => n.getBoundingClientRect().width < ticket.width / 3 || n.scrollWidth > n.clientWidth + 1).map((n) => n.textContent),
      // Words that do not fit their control (a payment choice, Save, a screen's tab).
      cutWords: [...document.querySelectorAll('.choice, .checkout button, .views button, .tender label')]
        .filter((c) => c.scrollWidth > c.clientWidth + 1)
        .map((c) => c.textContent!.trim()),
      total: document.getElementById('total')!.textContent,
    };
  });
}

/** Where the parts of the order screen are: nothing may move when a message or the mode changes. */
function positions(page: Page) {
  return page.evaluate(() =>
    ['save', 'message', 'menu-scroll', 'ticket-scroll', 'total'].map((id) => {
      const r = document.getElementById(id)!.getBoundingClientRect();
      // The total's own width follows its amount; where it sits does not move.
      return [id, Math.round(r.top), ...(id === 'total' ? [] : [Math.round(r.left), Math.round(r.width), Math.round(r.height)])].join(':');
    }),
  );
}

describeWithPeers('staff page layout at the points’ screens, in ru, en and ka', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;

  beforeAll(async () => {
    agent = await startPageAgent(tempDir('page-layout'), 'tbilisi-08', `mqtt://127.0.0.1:${await freePort()}`);
    // Twenty orders in today's list, some with notes.
    for (let i = 1; i <= 20; i++) {
      const body = { items: [{ sku: 'broth-sichuan', qty: i }, { sku: 'borjomi', qty: 1 }], payment: i % 3 ? 'cash' : 'card', ...(i % 4 ? {} : { note: `столик ${i}, без кинзы` }) };
      expect((await httpJson(agent.httpPort!, 'POST', '/api/orders', body)).status).toBe(201);
    }
    browser = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  for (const lang of LANGUAGES) {
    for (const screen of SCREENS) {
      it(`${lang} at ${screen.width}×${screen.height} (${screen.name}): a 12-line order keeps total and Save on screen; names readable; 20 orders fit`, async () => {
        const context = await browser.newContext({ viewport: { width: screen.width, height: screen.height }, hasTouch: screen.width < 1100 });
        await context.addInitScript(
          ({ lang, draft }) => {
            if (sessionStorage.getItem('seeded')) return;
            sessionStorage.setItem('seeded', '1');
            localStorage.setItem('hotpot.lang', lang);
            localStorage.setItem('hotpot.draft', JSON.stringify(draft));
          },
          { lang, draft: { lines: TWELVE_LINES, payment: 'cash', note: '', tendered: '300', clientRef: `layout-${lang}-${screen.name}` } },
        );
        const page = await context.newPage();
        try {
          await page.goto(`http://127.0.0.1:${agent.httpPort}/`);
          await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
          const shot = (what: string) => page.screenshot({ path: join(SHOTS, `${lang}-${screen.width}x${screen.height}-${what}.png`) });

          const order = await measure(page);
          await shot('order');
          expect(order.lines).toBe(12);
          expect(order, 'no horizontal overflow').toMatchObject({ overflow: 0, pageScrolled: 0 });
          expect(order, 'total, Save and the message beside it on screen').toMatchObject({ totalInView: true, saveInView: true, messageInView: true });
          expect(order.covered, 'no order line name under a control').toEqual([]);
          expect(order.narrowNames, 'every order line name has room').toEqual([]);
          expect(order.cutWords, 'no control cuts its words').toEqual([]);
          expect(order.total).toMatch(lang === 'en' ? /^\d+\.\d\d ₾$/ : /^\d+,\d\d ₾$/);

          // Tapping items from the end of the menu scrolls the menu pane, never the page.
          const last = page.locator('button.item[data-sku="borjomi"]');
          await last.click();
          await page.locator('button.item[data-sku="udon"]').click();
          const tapped = await measure(page);
          expect(tapped, 'after tapping menu items').toMatchObject({ overflow: 0, pageScrolled: 0, totalInView: true, saveInView: true, lines: 14, covered: [] });

          // A message beside Save and the box going silent move nothing.
          const before = await positions(page);
          // Layout shifts the cashier did not cause (as CLS counts them: not right after an input).
          await page.evaluate(() => {
            (window as unknown as { shift: number }).shift = 0;
            new PerformanceObserver((list) => {
              for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) {
                if (!entry.hadRecentInput) (window as unknown as { shift: number }).shift += entry.value;
              }
            }).observe({ type: 'layout-shift' });
          });
          await page.locator('#clear').click();
          await expect.poll(() => page.locator('#message .undo').count()).toBe(1);
          expect(await positions(page)).toEqual(before);
          await shot('cleared');
          await page.locator('#message .undo').click();
          await expect.poll(() => page.locator('#lines li').count()).toBe(14);
          await page.route('**/api/health', (route) => route.abort('connectionrefused'));
          await page.locator('#nobox:not([hidden])').waitFor({ timeout: 10_000 });
          expect(await positions(page)).toEqual(before);
          await shot('nobox');
          await page.unroute('**/api/health');
          await page.locator('#nobox[hidden]').waitFor({ state: 'attached', timeout: 10_000 });
          // Central's notice arrives (and goes) in its reserved row: nothing moves.
          agent.notices.accept([NOTICE], Date.now());
          await page.locator('#notice[data-severity="critical"]').waitFor({ timeout: 10_000 });
          expect(await page.locator('#notice-text').textContent()).toBe(NOTICE.text[lang]);
          expect(await positions(page)).toEqual(before);
          await shot('notice');
          agent.notices.accept([], Date.now());
          await page.locator('#notice[data-severity="none"]').waitFor({ timeout: 10_000 });
          expect(await page.evaluate(() => (window as unknown as { shift: number }).shift)).toBeLessThan(0.01);

          // Today's list: 20 orders, as cards on narrow screens, no overflow.
          await page.locator('[data-view="today"]').click();
          await expect.poll(() => page.locator('#orders tr').count(), { timeout: 10_000 }).toBe(20);
          const today = await page.evaluate(() => ({
            overflow: document.scrollingElement!.scrollWidth - innerWidth,
            rowDisplay: getComputedStyle(document.querySelector('#orders tr')!).display,
          }));
          expect(today.overflow).toBe(0);
          expect(today.rowDisplay).toBe(screen.width <= 960 ? 'grid' : 'table-row');
          await shot('today');

          await page.locator('[data-view="till"]').click();
          expect(await page.evaluate(() => document.scrollingElement!.scrollWidth - innerWidth)).toBe(0);
          await shot('till');
        } finally {
          await context.close();
        }
      });
    }
  }
});
