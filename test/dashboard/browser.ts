import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { packageRoot } from '../../lib/paths.js';
import type { Central } from '../../central/central.js';
import type { Role } from '../../central/plugin.js';

export const ARTIFACTS = join(packageRoot(), 'test-artifacts');
/** The screens every dashboard test looks at: a phone and a desktop. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };
const PASSWORD = 'a long enough password';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** A named user of central with `role`. */
export async function userOf(central: Central, name: string, role: Role): Promise<string> {
  await central.access.addUser(name, role, PASSWORD);
  return name;
}

export interface SignedIn {
  page: Page;
  errors: string[];
}

/**
 * A fresh browser context at `viewport` (a phone gets touch), signed in as `user` the way a person
 * does: the dashboard sends it to /login, the form signs it in and brings it back.
 */
export async function signIn(browser: Browser, central: Central, user: string, viewport: { width: number; height: number }, hash = ''): Promise<SignedIn> {
  const phone = viewport.width < 600;
  const context = await browser.newContext({ viewport, isMobile: phone, hasTouch: phone, locale: 'en-US' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const base = `http://127.0.0.1:${central.httpPort}`;
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login\?next=/);
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/');
  await page.locator('body[data-central="reachable"]').waitFor({ timeout: 15_000 });
  if (hash) await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  return { page, errors };
}

/** axe-core in the page: no serious or critical violation. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate<string[]>(`
    axe.run(document, { resultTypes: ['violations'] }).then((result) =>
      result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')))
  `);
  expect(violations, `axe at ${where}`).toEqual([]);
}

/** Nothing wider than the screen (no horizontal scrolling). */
export async function expectNoOverflow(page: Page, where: string): Promise<void> {
  const overflow = await page.evaluate<number>('document.scrollingElement.scrollWidth - window.innerWidth');
  expect(overflow, `horizontal overflow at ${where}`).toBeLessThanOrEqual(0);
}

/** Every visible control at least 44 px each way (checkboxes aside). */
export async function expectTapTargets(page: Page, where: string): Promise<void> {
  const small = await page.evaluate<string[]>(`
    [...document.querySelectorAll('button, a[href], input:not([type=checkbox]), select, textarea, summary')]
      .filter((el) => el.offsetParent !== null)
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && (r.width < 44 || r.height < 44))
      .map(({ el, r }) => (el.textContent || el.getAttribute('aria-label') || el.tagName).trim().slice(0, 30) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))
  `);
  expect(small, `controls under 44 px at ${where}`).toEqual([]);
}

export async function openView(page: Page, view: string): Promise<void> {
  await page.locator(`a.tab[data-view="${view}"]`).click();
  await page.locator(`#view-${view}:not([hidden])`).waitFor();
}

/** The standard checks of one view at one screen: accessible, no sideways scrolling, big enough to tap; and a screenshot. */
export async function lookAt(page: Page, name: string): Promise<void> {
  const width = page.viewportSize()!.width;
  const where = `${name} @ ${width}px`;
  await expectAccessible(page, where);
  await expectNoOverflow(page, where);
  if (width < 1100) await expectTapTargets(page, where);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-${width}.png`), fullPage: true });
}

/** The element's computed style property (its colour, say), as the browser draws it. */
export async function computedStyle(locator: Locator, property: string): Promise<string> {
  return locator.evaluate((el, name) => (globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }).getComputedStyle(el)[name]!, property);
}
