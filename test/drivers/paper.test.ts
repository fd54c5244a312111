/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions handed to page.evaluate run in Chromium.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../../agent/agent.js';
import { deviceDeps, type DeviceDeps } from '../../agent/checks/index.js';
import { bytesPerRow, isBlack, type Bitmap } from '../../drivers/raster.js';
import type { OrderRecord } from '../../sync/schemas.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';
import { PrinterEmulator, bitmapPng, paperImage, type PrintedReceipt } from '../peers/printer-emulator.js';
import { ARTIFACTS, capturedLogger, launchChromium, startPageAgent } from '../page/harness.js';

// jsqr is CommonJS: its function is the module's default export's default.
const jsQR = (jsQRModule as unknown as { default: typeof import('jsqr').default }).default;

const PAPER = join(ARTIFACTS, 'paper');
const DOTS = 576;

interface Started {
  agent: Agent;
  devices: DeviceDeps;
  printer: PrinterEmulator;
}

/** A real agent whose receipt printer is the emulator, with `extra` config. */
async function startWithPrinter(name: string, extra: Record<string, unknown>, log = capturedLogger().log): Promise<Started> {
  const printer = new PrinterEmulator();
  const address = await printer.listenTcp();
  let devices: DeviceDeps | undefined;
  const agent = await startPageAgent(
    tempDir(`paper-${name}`),
    `tbilisi-${name}`,
    `mqtt://127.0.0.1:${await freePort()}`,
    { ...extra, checks: { printer: { interface: address, intervalMs: 300, retryMs: 300 } } },
    async (config) => {
      devices = await deviceDeps(config, log, () => false);
      return { log, health: devices.health, receipts: devices.receipts, drawer: devices.drawer };
    },
  );
  return { agent, devices: devices!, printer };
}

async function stop(started: Started | undefined): Promise<void> {
  await started?.agent.stop();
  await started?.devices.close();
  await started?.printer.close();
}

async function order(started: Started, body: Record<string, unknown>): Promise<OrderRecord> {
  const answer = await httpJson<{ id: string }>(started.agent.httpPort!, 'POST', '/api/orders', body);
  expect(answer.status).toBe(201);
  return started.agent.store.get(answer.body.id)!.order;
}

async function receiptOf(printer: PrinterEmulator, order: OrderRecord): Promise<PrintedReceipt> {
  await waitFor(() => printer.receipts.some((r) => r.bytes.includes(Buffer.from(order.id))), `the receipt of ${order.number}`, 20_000);
  return printer.receipts.find((r) => r.bytes.includes(Buffer.from(order.id)))!;
}

/** No run of question marks anywhere in what the printer got: nothing was sent as "unprintable". */
function expectNoQuestionMarks(receipt: PrintedReceipt): void {
  expect(receipt.bytes.includes(Buffer.from('??'))).toBe(false);
  expect(receipt.text).not.toContain('?');
}

/** The box around a bitmap's ink, and the ink as a set of "x,y" relative to it. */
function ink(bitmap: Bitmap) {
  let [left, top, right, bottom] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < bitmap.height; y++) {
    for (let x = 0; x < bitmap.width; x++) {
      if (!isBlack(bitmap, x, y)) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  const dots = new Set<string>();
  for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) if (isBlack(bitmap, x, y)) dots.add(`${x - left},${y - top}`);
  return { width: right - left + 1, height: bottom - top + 1, left, dots };
}

/** Intersection over union of two inks, aligned at their top-left corners. */
function overlap(a: ReturnType<typeof ink>, b: ReturnType<typeof ink>): number {
  let both = 0;
  for (const dot of a.dots) if (b.dots.has(dot)) both++;
  return both / (a.dots.size + b.dots.size - both);
}

/**
 * The reference: Chromium (Skia) draws the same line with the same font the page uses, into a
 * canvas as wide as the paper, and every dot at least half covered is black.
 */
async function reference(page: Page, left: string, right: string, size: number, bold: boolean): Promise<Bitmap> {
  const { width, height, dots } = await page.evaluate(
    async ({ left, right, size, bold, width }) => {
      const font = `${bold ? 700 : 400} ${size}px "Hotpot Sans"`;
      await document.fonts.load(font, left + right);
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = size * 2;
      const ctx = canvas.getContext('2d')!;
      ctx.font = font;
      ctx.textBaseline = 'alphabetic';
      ctx.fillText(left, 0, size * 1.3);
      ctx.textAlign = 'right';
      ctx.fillText(right, width, size * 1.3);
      const pixels = ctx.getImageData(0, 0, width, canvas.height).data;
      return { width, height: canvas.height, dots: Array.from({ length: width * canvas.height }, (_, i) => pixels[i * 4 + 3]! >= 128) };
    },
    { left, right, size, bold, width: DOTS },
  );
  const row = bytesPerRow(width);
  const data = new Uint8Array(row * height);
  dots.forEach((black, i) => black && (data[Math.floor(i / width) * row + ((i % width) >> 3)]! |= 0x80 >> ((i % width) & 7)));
  return { width, height, data };
}

function rgba(bitmap: Bitmap): Uint8ClampedArray {
  const out = new Uint8ClampedArray(bitmap.width * bitmap.height * 4);
  for (let y = 0; y < bitmap.height; y++) {
    for (let x = 0; x < bitmap.width; x++) {
      const value = isBlack(bitmap, x, y) ? 0 : 255;
      out.set([value, value, value, 255], (y * bitmap.width + x) * 4);
    }
  }
  return out;
}

describeWithPeers('receipts on paper in Georgian and Russian (real agent, ESC/POS emulator)', [peers.chromium()], () => {
  let browser: Browser;
  let page: Page;
  let georgian: Started | undefined;

  beforeAll(async () => {
    mkdirSync(PAPER, { recursive: true });
    georgian = await startWithPrinter('41', { language: 'ka' });
    browser = await launchChromium();
    page = await browser.newPage();
    // The page's fonts, from the same box: the reference draws with exactly what it serves.
    await page.goto(`http://127.0.0.1:${georgian.agent.httpPort}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await stop(georgian);
  });

  it('prints a Georgian order as GS v 0 images drawn on the box, like Chromium draws them, and the QR scans', async () => {
    const placed = await order(georgian!, { items: [{ sku: 'khinkali-meat', qty: 10 }, { sku: 'broth-sichuan', qty: 1 }], payment: 'cash', note: 'მაგიდა 4' });
    const receipt = await receiptOf(georgian!.printer, placed);
    writeFileSync(join(PAPER, 'ka-receipt.png'), bitmapPng(paperImage(receipt, DOTS)));
    expectNoQuestionMarks(receipt);
    expect(receipt.bytes.includes(Buffer.from([0x1d, 0x76, 0x30]))).toBe(true);
    const rasters = receipt.graphics.flatMap((g) => (g.kind === 'raster' ? [g.bitmap] : []));
    expect(rasters.every((bitmap) => bitmap.width === DOTS)).toBe(true);
    // What stays text is what the printer's own font has: ASCII lines (the header, the number, the id).
    expect(receipt.lines).toContain('The Hot Pot Spot');
    expect(receipt.lines).toContain(placed.id);

    // Header (point, order number) come first; then the two item lines.
    const itemLine = rasters[2]!;
    const mine = ink(itemLine);
    const theirs = ink(await reference(page, '10 x ხინკალი ხორცით', '15,00 ₾', 24, false));
    writeFileSync(join(PAPER, 'ka-item-line.png'), bitmapPng(itemLine));
    expect(Math.abs(mine.width - theirs.width), 'same ink width').toBeLessThanOrEqual(3);
    expect(Math.abs(mine.height - theirs.height), 'same ink height').toBeLessThanOrEqual(3);
    expect(overlap(mine, theirs), 'the same glyphs in the same places').toBeGreaterThan(0.6);

    const paper = paperImage(receipt, DOTS);
    const qr = jsQR(rgba(paper), paper.width, paper.height);
    expect(qr?.data).toBe(placed.id);
  });

  it('prints a Russian order through the PC866 code page (ESC t 17): text, no images, no question marks', async () => {
    const russian = await startWithPrinter('42', { language: 'ru' });
    try {
      const placed = await order(russian, { items: [{ sku: 'khinkali-meat', qty: 2 }, { sku: 'broth-sichuan', qty: 1 }], payment: 'card', note: 'столик 4, без кинзы' });
      const receipt = await receiptOf(russian.printer, placed);
      expectNoQuestionMarks(receipt);
      expect(receipt.bytes.includes(Buffer.from([0x1b, 0x74, 17]))).toBe(true);
      expect(receipt.graphics.filter((g) => g.kind === 'raster')).toEqual([]);
      expect(receipt.text).toMatch(/2 x Хинкали с говядиной и свининой\s+3,00 GEL/);
      expect(receipt.text).toMatch(/1 x Острый сычуаньский бульон\s+15,00 GEL/);
      expect(receipt.text).toContain('Оплата: карта');
      expect(receipt.text).toContain('Комментарий: столик 4, без кинзы');
      expect(receipt.qr).toEqual([placed.id]);
    } finally {
      await stop(russian);
    }
  });

  it('uses WPC1251 (ESC t 46) when configured, or draws Cyrillic when the printer has no Cyrillic page', async () => {
    const cp1251 = await startWithPrinter('43', { language: 'ru', receipt: { codePage: 'cp1251' } });
    try {
      const receipt = await receiptOf(cp1251.printer, await order(cp1251, { items: [{ sku: 'tofu', qty: 1 }], payment: 'cash' }));
      expectNoQuestionMarks(receipt);
      expect(receipt.bytes.includes(Buffer.from([0x1b, 0x74, 46]))).toBe(true);
      expect(receipt.text).toMatch(/1 x Тофу\s+6,00 GEL/);
    } finally {
      await stop(cp1251);
    }
    const drawn = await startWithPrinter('44', { language: 'ru', receipt: { codePage: 'raster' } });
    try {
      const receipt = await receiptOf(drawn.printer, await order(drawn, { items: [{ sku: 'tofu', qty: 1 }], payment: 'cash' }));
      expectNoQuestionMarks(receipt);
      expect(receipt.text).not.toMatch(/[А-я]/);
      expect(receipt.graphics.filter((g) => g.kind === 'raster').length).toBeGreaterThan(3);
      writeFileSync(join(PAPER, 'ru-raster-receipt.png'), bitmapPng(paperImage(receipt, DOTS)));
    } finally {
      await stop(drawn);
    }
  });

  it('opens the cash drawer for a cash order (ESC p), not for a card one; a manager opens it by hand with the PIN, logged', async () => {
    const { log, lines } = capturedLogger();
    const till = await startWithPrinter('45', { drawer: { kickOnCash: true }, pins: { manager: '4321' } }, log);
    try {
      await receiptOf(till.printer, await order(till, { items: [{ sku: 'tofu', qty: 1 }], payment: 'cash' }));
      await waitFor(() => till.printer.drawerKicks.length === 1, 'the drawer kick of the cash order', 10_000);
      expect(till.printer.drawerKicks[0]).toEqual({ pin: 2, onMs: 100 });
      await receiptOf(till.printer, await order(till, { items: [{ sku: 'tofu', qty: 1 }], payment: 'card' }));
      expect(till.printer.drawerKicks).toHaveLength(1);

      const wrong = await httpJson<{ code: string }>(till.agent.httpPort!, 'POST', '/api/drawer/open', { managerPin: '0000' });
      expect(wrong).toMatchObject({ status: 403, body: { code: 'manager_pin_wrong' } });
      expect(till.printer.drawerKicks).toHaveLength(1);
      expect((await httpJson(till.agent.httpPort!, 'POST', '/api/drawer/open', { managerPin: '4321' })).status).toBe(200);
      expect(till.printer.drawerKicks).toHaveLength(2);
      expect(lines.filter((line) => line.msg === 'cash drawer opened').map((line) => line.reason)).toEqual(['cash order', 'by hand']);

      // A stopped printer ignores ESC p: the manager is told the drawer stayed shut.
      till.printer.set({ coverOpen: true });
      const shut = await httpJson<{ code: string }>(till.agent.httpPort!, 'POST', '/api/drawer/open', { managerPin: '4321' });
      expect(shut).toMatchObject({ status: 502, body: { code: 'drawer_failed' } });
    } finally {
      await stop(till);
    }
  });
});
