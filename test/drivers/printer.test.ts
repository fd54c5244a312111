import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assessPrinter, decodeStatus, loadPrinter, type Printer, type ReceiptBlock } from '../../drivers/index.js';
import { encodeReceipt } from '../../drivers/escpos.js';
import { loadFontStack } from '../../drivers/raster.js';
import { PrinterCheck } from '../../agent/checks/index.js';
import { receiptFontFiles } from '../../agent/page/fonts.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { waitFor } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';

const RECEIPT: ReceiptBlock[] = [
  { kind: 'text', text: 'Order tbilisi-01-000007', align: 'center', bold: true, large: true },
  { kind: 'rule' },
  { kind: 'pair', left: '2 x Khinkali (meat)', right: '3.00 GEL' },
  { kind: 'text', text: 'OFFLINE ORDER — will sync', align: 'center' },
  { kind: 'qr', data: '0190f0aa-0000-7000-8000-000000000001' },
];

function open(address: string, statusTimeoutMs = 2000): Promise<Printer> {
  return loadPrinter({ address, baudRate: 9600, width: 42, dots: 576, codePage: 'cp866', fontFiles: receiptFontFiles(), statusTimeoutMs, printTimeoutMs: 5000 }) as Promise<Printer>;
}

describe('DLE EOT status bytes', () => {
  // Answers as the Epson ESC/POS reference gives them: bits 1 and 4 always set.
  it('reads a ready printer as up', () => {
    expect(assessPrinter(decodeStatus(Buffer.from([0x12, 0x12, 0x12, 0x12])))).toEqual({ status: 'up', reasons: [] });
  });
  it('reads paper end (n=2 bit 5, n=4 bits 5-6) as down with a paper reason', () => {
    const result = assessPrinter(decodeStatus(Buffer.from([0x1a, 0x32, 0x12, 0x7e])));
    expect(result.status).toBe('down');
    expect(result.reasons[0]).toMatch(/paper end/);
  });
  it('reads paper near end (n=4 bits 2-3) as degraded', () => {
    const result = assessPrinter(decodeStatus(Buffer.from([0x12, 0x12, 0x12, 0x1e])));
    expect(result).toEqual({ status: 'degraded', reasons: [expect.stringMatching(/near end/)] });
  });
  it('reads cover open (n=2 bit 2) and an autocutter error (n=3 bit 3) as down', () => {
    expect(assessPrinter(decodeStatus(Buffer.from([0x1a, 0x16, 0x12, 0x12]))).reasons).toEqual([expect.stringMatching(/cover open/)]);
    expect(assessPrinter(decodeStatus(Buffer.from([0x1a, 0x52, 0x1a, 0x12]))).reasons).toEqual([expect.stringMatching(/cutter/)]);
  });
  it('refuses bytes that are not status answers', () => {
    expect(() => decodeStatus(Buffer.from([0x00, 0x12, 0x12, 0x12]))).toThrow(/not 4 ESC\/POS status bytes/);
    expect(() => decodeStatus(Buffer.from([0x12]))).toThrow(/not 4/);
  });
});

describe('receipt encoding', () => {
  const fonts = async () => {
    const files = receiptFontFiles();
    return { regular: await loadFontStack(files.regular), bold: await loadFontStack(files.bold) };
  };
  /** The width (bytes per row × 8) and height of every GS v 0 image in `bytes`. */
  const rasters = (bytes: Buffer) => {
    const found: { width: number; height: number }[] = [];
    for (let i = bytes.indexOf(Buffer.from([0x1d, 0x76, 0x30])); i >= 0; i = bytes.indexOf(Buffer.from([0x1d, 0x76, 0x30]), i + 8)) {
      found.push({ width: (bytes[i + 4]! + 256 * bytes[i + 5]!) * 8, height: bytes[i + 6]! + 256 * bytes[i + 7]! });
    }
    return found;
  };

  it('draws Georgian at the paper’s width: 384 dots on 58 mm, 576 on 80 mm, wrapping what does not fit', async () => {
    const line: ReceiptBlock[] = [{ kind: 'pair', left: '1 x ცხარე სიჩუანური ბულიონი დიდი ქვაბით და ბოსტნეულით', right: '25,50 ₾' }];
    const narrow = rasters(await encodeReceipt(line, { width: 32, dots: 384, codePage: 'cp866', fonts }));
    const wide = rasters(await encodeReceipt(line, { width: 48, dots: 576, codePage: 'cp866', fonts }));
    expect(narrow).toHaveLength(1);
    expect(wide).toHaveLength(1);
    expect(narrow[0]!.width).toBe(384);
    expect(wide[0]!.width).toBe(576);
    // More lines on the narrower paper.
    expect(narrow[0]!.height).toBeGreaterThan(wide[0]!.height);
  });

  it('sends text a code page holds as text, switching pages with ESC t, and never a question mark', async () => {
    const bytes = await encodeReceipt(
      [
        { kind: 'text', text: 'Заказ № 7' },
        { kind: 'text', text: 'OFFLINE ORDER — will sync' },
        { kind: 'text', text: 'ОФЛАЙН-ЗАКАЗ — будет синхронизирован' },
      ],
      { width: 48, dots: 576, codePage: 'cp866', fonts },
    );
    expect(rasters(bytes)).toEqual([]);
    expect(bytes.includes(Buffer.from([0x1b, 0x74, 17]))).toBe(true);
    expect(bytes.includes(Buffer.from([0x1b, 0x74, 16, 0x4f]))).toBe(true);
    expect(bytes.includes(0x3f)).toBe(false);
  });
});

describe('ESC/POS printer over TCP (emulator on a free port)', () => {
  const emulator = new PrinterEmulator();
  let printer: Printer;
  let check: PrinterCheck;

  beforeAll(async () => {
    printer = await open(await emulator.listenTcp(), 1000);
    check = new PrinterCheck(printer);
  });
  afterEach(() => emulator.set({}));
  afterAll(async () => {
    await printer.close();
    await emulator.close();
  });

  it('is up when ready, and prints a receipt the emulator decodes: text, QR and cut', async () => {
    expect(await check.run()).toMatchObject({ status: 'up' });
    const after = await printer.print(RECEIPT);
    expect(assessPrinter(after).status).toBe('up');
    expect(emulator.receipts).toHaveLength(1);
    const [receipt] = emulator.receipts;
    expect(receipt!.lines).toContain('Order tbilisi-01-000007');
    expect(receipt!.text).toMatch(/2 x Khinkali \(meat\)\s+3\.00 GEL/);
    expect(receipt!.text).toContain('OFFLINE ORDER — will sync');
    expect(receipt!.qr).toEqual(['0190f0aa-0000-7000-8000-000000000001']);
  });

  it('is down with a paper reason at paper end', async () => {
    emulator.set({ paperEnd: true });
    const result = await check.run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/paper end/);
    expect(result.data).toMatchObject({ paperEnd: true });
  });

  it('is degraded when paper is near its end', async () => {
    emulator.set({ paperNearEnd: true });
    expect(await check.run()).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/near end/) });
  });

  it('is down when the cover is open', async () => {
    emulator.set({ coverOpen: true });
    expect(await check.run()).toMatchObject({ status: 'down', detail: expect.stringMatching(/cover open/) });
  });

  it('is down, naming the wait, when the printer does not answer DLE EOT in time', async () => {
    emulator.set({ mute: true });
    const result = await check.run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/timed out after 1000 ms waiting for the printer's answer to DLE EOT/);
  });

  it('is down when the TCP port refuses, and up again when it listens', async () => {
    await emulator.closeTcp();
    const result = await check.run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/refused the connection/);
    await emulator.listenTcp();
    expect(await check.run()).toMatchObject({ status: 'up' });
  });
});

describeWithPeers('ESC/POS printer over a serial pty (socat)', [peers.socat()], () => {
  const emulator = new PrinterEmulator();
  let printer: Printer;

  beforeAll(async () => {
    printer = await open(emulator.serialPath, 1000);
  });
  afterAll(async () => {
    await printer.close();
    await emulator.close();
  });

  it('is down with a clear reason while the serial path does not exist', async () => {
    const result = await new PrinterCheck(printer).run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/serial port .*printer does not exist/);
  });

  it('reads the status and prints over the pty', async () => {
    await emulator.plugSerial();
    const check = new PrinterCheck(printer);
    expect(await check.run()).toMatchObject({ status: 'up' });
    emulator.set({ paperEnd: true });
    expect(await check.run()).toMatchObject({ status: 'down', detail: expect.stringMatching(/paper end/) });
    emulator.set({});
    await printer.print(RECEIPT);
    expect(emulator.receipts.at(-1)?.qr).toEqual(['0190f0aa-0000-7000-8000-000000000001']);
  });

  it('goes down when the pty is unplugged and recovers by itself when it comes back', async () => {
    const check = new PrinterCheck(printer);
    expect(await check.run()).toMatchObject({ status: 'up' });
    await emulator.unplugSerial();
    expect(await check.run()).toMatchObject({ status: 'down' });
    await emulator.plugSerial();
    // The driver reopens the path on its next use; no restart, no new driver.
    await waitFor(async () => (await check.run()).status === 'up', 'the printer check to recover after replug', 15_000, 200);
    await printer.print(RECEIPT);
    expect(emulator.receipts.length).toBeGreaterThanOrEqual(2);
  });
});
