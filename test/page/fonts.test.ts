/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions handed to page.evaluate run in Chromium.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { FONT_PARTS, fontFaceCss } from '../../agent/page/fonts.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';
import { freePort } from '../peers/net.js';
import { launchChromium, openStaffPage, startPageAgent } from './harness.js';

/** How `text` in `font` looks, as pixels of a canvas (alpha only). */
function drawn(page: Page, text: string, font: string): Promise<number[]> {
  return page.evaluate(
    ({ text, font }) => {
      const canvas = document.createElement('canvas');
      canvas.width = 96;
      canvas.height = 96;
      const ctx = canvas.getContext('2d')!;
      ctx.font = font;
      ctx.fillText(text, 8, 72);
      const pixels = ctx.getImageData(0, 0, 96, 96).data;
      return Array.from({ length: 96 * 96 }, (_, i) => pixels[i * 4 + 3]!);
    },
    { text, font },
  );
}

const differing = (a: number[], b: number[]) => a.filter((value, i) => Math.abs(value - b[i]!) > 64).length;

describeWithPeers('the page’s own fonts, on a box with only Debian’s default fonts', [peers.chromium()], () => {
  let agent: Agent;
  let browser: Browser;
  let page: Page;
  const fontResponses: { url: string; status: number; type: string | undefined }[] = [];

  beforeAll(async () => {
    agent = await startPageAgent(tempDir('page-fonts'), 'tbilisi-09', `mqtt://127.0.0.1:${await freePort()}`, { language: 'ka' });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1024, height: 600 } });
    page.on('response', (response) => {
      if (response.url().includes('/assets/font-')) fontResponses.push({ url: response.url(), status: response.status(), type: response.headers()['content-type'] });
    });
    await openStaffPage(page, agent.httpPort!);
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
  });

  it('no installed font has the lari sign (the reason the box serves its own)', () => {
    expect(execFileSync('fc-list', [':charset=20be', 'family'], { encoding: 'utf8' }).trim()).toBe('');
  });

  it('loads its fonts from the box only, and just the parts the page shows', async () => {
    const loaded = await page.evaluate(() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => `${f.family} ${f.weight} ${f.unicodeRange}`));
    expect(loaded.some((face) => face.includes('U+20BE'))).toBe(true);
    expect(loaded.some((face) => face.includes('U+10A0-10FF'))).toBe(true);
    expect(fontResponses.length).toBeGreaterThan(0);
    for (const response of fontResponses) {
      expect(response.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${agent.httpPort}/assets/font-`));
      expect(response).toMatchObject({ status: 200, type: 'font/woff2' });
    }
    // The CSS the page got is the one made from the parts (each face's unicode-range).
    expect(await (await fetch(`http://127.0.0.1:${agent.httpPort}/assets/fonts.css`)).text()).toBe(fontFaceCss());
    expect(FONT_PARTS.map((part) => part.name)).toEqual(['latin', 'lari', 'cyrillic', 'georgian']);
  });

  it('draws ₾ from a real glyph, not the box a missing code point gets', async () => {
    const font = '64px "Hotpot Sans"';
    await page.evaluate(async (font) => void (await document.fonts.load(font, '₾ა')), font);
    expect(await page.evaluate((font) => document.fonts.check(font, '₾'), font)).toBe(true);
    const lari = await drawn(page, '₾', font);
    const missing = await drawn(page, '\u0378', font); // unassigned: every font's .notdef
    const otherMissing = await drawn(page, '\u0379', font);
    expect(lari.filter((alpha) => alpha > 128).length, 'the lari sign has ink').toBeGreaterThan(200);
    expect(differing(missing, otherMissing), 'two missing code points draw the same box').toBe(0);
    expect(differing(lari, missing), 'the lari sign is not that box').toBeGreaterThan(300);
  });

  it('shows Georgian, Cyrillic and Latin text in the page font', async () => {
    for (const sample of ['ხინკალი', 'Хинкали', 'Khinkali', '№ 15,00 ₾']) {
      expect(await page.evaluate((sample) => document.fonts.check('18px "Hotpot Sans"', sample), sample), sample).toBe(true);
    }
    const family = await page.locator('#total').evaluate((el) => getComputedStyle(el).fontFamily);
    expect(family).toContain('Hotpot Sans');
    expect(await page.locator('#total').textContent()).toMatch(/^0,00 ₾$/);
  });
});
