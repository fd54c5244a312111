import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { freePort } from '../peers/net.js';
import { launchChromium, openStaffPage, ordersOnDisk, screenshot, startPageAgent } from './harness.js';

interface Issue {
  path: string;
  message: string;
}

const XSS_NOTE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

describeWithPeers('staff page: bad input, keyboard, labels, languages', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    // No broker there: the box sells offline, as in an outage. Georgian is the configured default.
    agent = await startPageAgent(tempDir('page-input'), 'batumi-01', `mqtt://127.0.0.1:${await freePort()}`, { language: 'ka' });
    browser = await launchChromium();
  });

  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await openStaffPage(page, agent.httpPort!);
    await page.locator('#lang').selectOption('en');
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('shows script in the note as text, never runs it', async () => {
    await page.locator('button.item[data-sku="udon"]').click();
    await page.getByLabel('Cash').check();
    await page.getByLabel('Note').fill(XSS_NOTE);
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved № batumi-01-/);
    const cell = page.locator('#orders tr td.note').first();
    await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toBe(XSS_NOTE);
    expect(await cell.locator('img, script').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(ordersOnDisk(agent.store.file).at(-1)?.note).toBe(XSS_NOTE);
    await screenshot(page, 'note-as-text');
  });

  it.each([
    ['negative', '-2'],
    ['fractional', '1.5'],
    ['huge', '100000'],
    ['not a number', 'two'],
  ])('refuses a %s quantity typed in the form with a message, storing nothing', async (_label, typed) => {
    const before = ordersOnDisk(agent.store.file).length;
    await page.locator('button.item[data-sku="tofu"]').click();
    const qty = page.getByLabel('Quantity: Tofu');
    await qty.fill(typed);
    expect(await qty.getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Card').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Quantity of “Tofu” must be a whole number from 1 to 999.');
    // The bad field gets the focus, so the cashier can fix it at once.
    expect(await page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe('Quantity: Tofu');
    expect(ordersOnDisk(agent.store.file).length).toBe(before);
  });

  it('refuses an open item with a bad price and keeps the order empty', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Extra sauce');
    for (const price of ['-5', '1.234', 'abc', '0', '99999999999']) {
      await page.getByLabel('Price (₾)').fill(price);
      await page.getByRole('button', { name: 'Add item' }).click();
      await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Price must be an amount like 12.50/);
      expect(await page.locator('#lines li').count()).toBe(0);
    }
    await page.getByLabel('Price (₾)').fill('2,5');
    await page.getByLabel('Price (₾)').press('Enter');
    await expect.poll(() => page.locator('#lines li').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('#total').textContent()).toBe('2.50 ₾');
  });

  it('works by keyboard alone: tab order follows the order of work, Enter saves', async () => {
    const visited: string[] = [];
    // Where the focus is: a menu item by sku, a ticket control by its focus key, else the element's id or tag:name.
    const describeFocus = () =>
      page.evaluate<string>(`(() => {
        const el = document.activeElement;
        if (!el) return '';
        return el.dataset.sku ? 'item:' + el.dataset.sku : el.dataset.focusKey ? 'line:' + el.dataset.focusKey : el.id || el.tagName + ':' + (el.name || el.textContent);
      })()`);
    // Tab to the first menu item and add it with Enter, then once more with Space.
    // (past the screens, the language and the category jump bar)
    for (let i = 0; i < 20 && !(await describeFocus()).startsWith('item:'); i++) await page.keyboard.press('Tab');
    expect(await describeFocus()).toBe('item:khinkali-meat');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByLabel('Quantity: Khinkali, beef & pork').inputValue(), { timeout: 10_000 }).toBe('2');
    // Walk on through the whole page, noting where the focus goes.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      visited.push(await describeFocus());
    }
    const at = (name: string) => visited.indexOf(name);
    // The menu (with its open item), then the order's lines and note, then payment and Save.
    expect(at('open-name')).toBeGreaterThan(-1);
    expect(at('open-name')).toBeLessThan(at('open-price'));
    expect(at('open-price')).toBeLessThan(at('line:qty-0'));
    expect(at('line:qty-0')).toBeLessThan(at('note'));
    expect(at('note')).toBeLessThan(at('INPUT:payment'));
    expect(at('INPUT:payment')).toBeLessThan(at('save'));
    // Back to the payment radios (Shift+Tab from Save), choose card with the arrow key, then Enter in the note saves.
    await page.locator('#save').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByLabel('Card').isChecked()).toBe(true);
    await page.getByLabel('Note').focus();
    await page.keyboard.type('by keyboard');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved № batumi-01-/);
    expect(ordersOnDisk(agent.store.file).at(-1)).toMatchObject({ note: 'by keyboard', payment: 'card', total: 300 });
  });

  it('gives every control an accessible name', async () => {
    await page.locator('button.item[data-sku="shrimp"]').click();
    await page.getByLabel('Cash').check();
    await page.getByRole('button', { name: 'Save & print' }).click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toMatch(/^Saved/);
    await page.locator('button.item[data-sku="shrimp"]').click();
    const cdp = await context.newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[] };
    const controls = nodes.filter((node) => !node.ignored && ['button', 'textbox', 'radio', 'spinbutton', 'combobox', 'checkbox'].includes(node.role?.value ?? ''));
    expect(controls.length).toBeGreaterThan(20);
    const unnamed = controls.filter((node) => !node.name?.value.trim());
    expect(unnamed.map((node) => node.role?.value)).toEqual([]);
  });

  it('starts in the configured language and switches between Georgian, Russian and English', async () => {
    const fresh = await browser.newContext();
    const georgian = await fresh.newPage();
    await openStaffPage(georgian, agent.httpPort!);
    const save = georgian.locator('#save');
    expect(await save.textContent()).toBe('შენახვა და ბეჭდვა');
    expect(await georgian.locator('html').getAttribute('lang')).toBe('ka');
    expect(await georgian.locator('button.item[data-sku="khinkali-meat"] .item-name').textContent()).toBe('ხინკალი ხორცით');
    await georgian.locator('#mode.mode-offline').waitFor({ timeout: 10_000 });
    expect(await georgian.locator('#mode').textContent()).toMatch(/^ოფლაინ/);
    await screenshot(georgian, 'georgian');

    await georgian.locator('#lang').selectOption('ru');
    expect(await save.textContent()).toBe('Сохранить и распечатать');
    expect(await georgian.locator('button.item[data-sku="khinkali-meat"] .item-name').textContent()).toBe('Хинкали с говядиной и свининой');
    expect(await georgian.locator('#mode').textContent()).toMatch(/^ОФЛАЙН/);
    // The choice is the tablet's: it survives a reload.
    await georgian.reload();
    await georgian.waitForSelector('body[data-ready="true"]');
    expect(await save.textContent()).toBe('Сохранить и распечатать');
    await fresh.close();
  });
});

describe('order API: bad input', () => {
  let agent: Agent;

  beforeAll(async () => {
    agent = await startPageAgent(tempDir('api-input'), 'batumi-02', `mqtt://127.0.0.1:${await freePort()}`);
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it.each([
    ['a negative qty', { sku: 'tofu', qty: -1 }, 'items.0.qty', 'qty must be at least 1'],
    ['a fractional qty', { sku: 'tofu', qty: 1.5 }, 'items.0.qty', 'qty must be a whole number'],
    ['a huge qty', { sku: 'tofu', qty: 1_000_000 }, 'items.0.qty', 'qty must be at most 999'],
    ['a qty as text', { sku: 'tofu', qty: '3' }, 'items.0.qty', ''],
    ['a negative open price', { name: 'Bread', unitPrice: -100, qty: 1 }, 'items.0.unitPrice', ''],
    ['a fractional open price', { name: 'Bread', unitPrice: 2.5, qty: 1 }, 'items.0.unitPrice', ''],
  ])('refuses %s through the API naming the field, storing nothing', async (_label, item, field, message) => {
    const before = ordersOnDisk(agent.store.file).length;
    const res = await httpJson<{ error: string; issues: Issue[] }>(agent.httpPort!, 'POST', '/api/orders', { items: [item], payment: 'cash' });
    expect(res.status).toBe(400);
    const issue = res.body.issues.find((i) => i.path === field);
    expect(issue, JSON.stringify(res.body)).toBeDefined();
    if (message) expect(issue!.message).toBe(message);
    expect(ordersOnDisk(agent.store.file).length).toBe(before);
  });

  it('refuses a total too large to be real', async () => {
    const before = ordersOnDisk(agent.store.file).length;
    const res = await httpJson<{ error: string }>(agent.httpPort!, 'POST', '/api/orders', { items: [{ name: 'Gold', unitPrice: 1_000_000_000, qty: 999 }], payment: 'card' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/order total is too large/);
    expect(ordersOnDisk(agent.store.file).length).toBe(before);
  });
});
