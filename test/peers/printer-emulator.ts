import { createServer, type Server, type Socket } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import QRCode from 'qrcode';
import type { Bitmap } from '../../drivers/raster.js';
import { withTimeout } from '../../lib/timeout.js';
import { waitFor } from './net.js';
import { startChild, type Child } from './process.js';

export const SOCAT_BIN = '/usr/bin/socat';

/** What the emulated printer's sensors say; the test sets it. */
export interface EmulatedStatus {
  offline?: boolean;
  coverOpen?: boolean;
  paperNearEnd?: boolean;
  paperEnd?: boolean;
  /** Unrecoverable error. */
  error?: boolean;
  cutterError?: boolean;
  /** Answers no status query at all (a hung printer). */
  mute?: boolean;
}

/** A picture on the paper: a raster image (GS v 0), or a QR code the printer drew itself (GS ( k). */
export type Graphic = { kind: 'raster'; bitmap: Bitmap } | { kind: 'qr'; data: string; cellSize: number; correction: 'L' | 'M' | 'Q' | 'H' };

export interface PrintedReceipt {
  lines: string[];
  text: string;
  qr: string[];
  /** The pictures, in paper order. */
  graphics: Graphic[];
  /** Every byte of print data the receipt was made of (commands included). */
  bytes: Buffer;
}

/** A cash drawer pulse (ESC p): which connector pin and for how long. */
export interface DrawerKick {
  pin: 2 | 5;
  onMs: number;
}

/** Windows-1252 0x80-0x9F (Node's TextDecoder reads windows-1252 as Latin-1 there); Latin-1 above. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';
const IBM866 = new TextDecoder('ibm866');
const WINDOWS1251 = new TextDecoder('windows-1251');
/** Code pages the emulator decodes (ESC t n: 16 = WPC1252, 17 = PC866, 46 = WPC1251); others print high bytes as '?'. */
const CODE_PAGES: Record<number, (byte: number) => string> = {
  16: (byte) => (byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : String.fromCharCode(byte)),
  17: (byte) => IBM866.decode(Uint8Array.of(byte)),
  46: (byte) => WINDOWS1251.decode(Uint8Array.of(byte)),
};
/** ESC and GS commands with a fixed number of parameter bytes, per the Epson ESC/POS reference. */
const ESC_PARAMS: Record<number, number> = { 0x40: 0, 0x32: 0, 0x74: 1, 0x61: 1, 0x45: 1, 0x21: 1, 0x4d: 1, 0x2d: 1, 0x7b: 1, 0x33: 1, 0x64: 1, 0x4a: 1, 0x47: 1, 0x56: 1, 0x42: 2, 0x70: 3 };
const GS_PARAMS: Record<number, number> = { 0x21: 1, 0x42: 1, 0x68: 1, 0x77: 1, 0x48: 1, 0x66: 1, 0x4c: 2, 0x57: 2 };

/**
 * Decodes one ESC/POS byte stream: text lines, QR codes (GS ( k), cuts (GS V) and real-time
 * status requests (DLE EOT n), which it answers at once through `reply`.
 */
class EscPosDecoder {
  private pending = Buffer.alloc(0);
  private codePage = 0;
  private line: number[] = [];
  private lines: string[] = [];
  private qr: string[] = [];
  private storedQr = '';
  private qrCellSize = 3;
  private qrCorrection: 'L' | 'M' | 'Q' | 'H' = 'L';
  private graphics: Graphic[] = [];
  private bytes: Buffer[] = [];

  constructor(private readonly printer: PrinterEmulator, private readonly reply: (bytes: Buffer) => void) {}

  feed(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const used = this.step(this.pending);
      if (used === 0) return;
      // Real-time status requests are not print data.
      if (this.pending[0] !== 0x10) this.bytes.push(this.pending.subarray(0, used));
      this.pending = this.pending.subarray(used);
    }
  }

  /** Handles the command at the start of `b`; returns the bytes it used, 0 when it is incomplete. */
  private step(b: Buffer): number {
    if (b.length === 0) return 0;
    const first = b[0]!;
    if (first === 0x10) {
      if (b.length < 3) return 0;
      if (b[1] === 0x04) this.statusRequest(b[2]!);
      return 3;
    }
    if (first === 0x1b) {
      if (b.length < 2) return 0;
      const params = ESC_PARAMS[b[1]!] ?? 1;
      if (b.length < 2 + params) return 0;
      if (b[1] === 0x40) this.codePage = 0;
      if (b[1] === 0x74) this.codePage = b[2]!;
      if (b[1] === 0x70) this.printing(() => this.printer.drawerKicks.push({ pin: b[2]! & 1 ? 5 : 2, onMs: b[3]! * 2 }));
      return 2 + params;
    }
    if (first === 0x1d) return this.gs(b);
    if (first === 0x0a) this.printing(() => this.endLine());
    else if (first >= 0x20) this.printing(() => this.line.push(first));
    return 1;
  }

  private gs(b: Buffer): number {
    if (b.length < 2) return 0;
    const command = b[1]!;
    if (command === 0x56) {
      // GS V m, plus a feed amount n when m is 65 or 66.
      if (b.length < 3) return 0;
      const size = b[2] === 65 || b[2] === 66 ? 4 : 3;
      if (b.length < size) return 0;
      this.printing(() => this.cut());
      return size;
    }
    if (command === 0x76) {
      // GS v 0 m xL xH yL yH: a raster image, (xL + 256 xH) bytes by (yL + 256 yH) rows.
      if (b.length < 8) return 0;
      const row = b[4]! + 256 * b[5]!;
      const height = b[6]! + 256 * b[7]!;
      const size = 8 + row * height;
      if (b.length < size) return 0;
      const bitmap = { width: row * 8, height, data: Uint8Array.from(b.subarray(8, size)) };
      this.printing(() => {
        if (this.line.length) this.endLine();
        this.graphics.push({ kind: 'raster', bitmap });
      });
      return size;
    }
    if (command === 0x28) {
      // GS ( fn pL pH data: pL + 256 pH bytes follow.
      if (b.length < 5) return 0;
      const size = 5 + b[3]! + 256 * b[4]!;
      if (b.length < size) return 0;
      if (b[2] === 0x6b) this.symbol(b.subarray(5, size));
      return size;
    }
    const params = GS_PARAMS[command] ?? 1;
    return b.length < 2 + params ? 0 : 2 + params;
  }

  /** GS ( k: cn 49 is QR; fn 80 stores the data, fn 81 prints it. */
  private symbol(body: Buffer): void {
    if (body[0] !== 0x31) return;
    if (body[1] === 0x43) this.qrCellSize = body[2]!;
    if (body[1] === 0x45) this.qrCorrection = (['L', 'M', 'Q', 'H'] as const)[body[2]! - 48] ?? 'L';
    if (body[1] === 0x50) this.storedQr = body.subarray(3).toString('utf8');
    if (body[1] === 0x51) {
      this.printing(() => {
        this.qr.push(this.storedQr);
        this.graphics.push({ kind: 'qr', data: this.storedQr, cellSize: this.qrCellSize, correction: this.qrCorrection });
      });
    }
  }

  private statusRequest(n: number): void {
    this.printer.statusQueries++;
    const status = this.printer.status;
    if (status.mute) return;
    const stopped = Boolean(status.offline || status.coverOpen || status.paperEnd || status.error || status.cutterError);
    const bit = (on: boolean | undefined, mask: number) => (on ? mask : 0);
    const byte = [
      0x12 | bit(stopped, 0x08),
      0x12 | bit(status.coverOpen, 0x04) | bit(status.paperEnd, 0x20) | bit(status.error || status.cutterError, 0x40),
      0x12 | bit(status.cutterError, 0x08) | bit(status.error, 0x20),
      0x12 | bit(status.paperNearEnd || status.paperEnd, 0x0c) | bit(status.paperEnd, 0x60),
    ][n - 1];
    if (byte !== undefined) this.reply(Buffer.from([byte]));
  }

  /** A stopped printer prints nothing: what it is sent is lost and counted. */
  private printing(action: () => void): void {
    if (this.printer.canPrint()) action();
    else this.printer.refusedBytes++;
  }

  private endLine(): void {
    const decoder = CODE_PAGES[this.codePage];
    const text = this.line.map((byte) => (byte < 0x80 ? String.fromCharCode(byte) : decoder ? decoder(byte) : '?')).join('');
    this.lines.push(text.trimEnd());
    this.line = [];
  }

  private cut(): void {
    if (this.line.length) this.endLine();
    const lines = this.lines.filter((line) => line.trim() !== '');
    this.printer.receipts.push({ lines, text: lines.join('\n'), qr: this.qr, graphics: this.graphics, bytes: Buffer.concat(this.bytes) });
    this.lines = [];
    this.qr = [];
    this.graphics = [];
    this.bytes = [];
  }
}

/**
 * An ESC/POS receipt printer for tests and demos: a TCP port (like a network printer's 9100)
 * and a serial twin on a pty pair made by socat. It keeps what it printed, decoded, and answers
 * DLE EOT with the status the test sets.
 */
export class PrinterEmulator {
  status: EmulatedStatus = {};
  readonly receipts: PrintedReceipt[] = [];
  readonly drawerKicks: DrawerKick[] = [];
  statusQueries = 0;
  /** Bytes of print data that arrived while the printer could not print. */
  refusedBytes = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private socat: Child | undefined;
  private serial: SerialPort | undefined;
  private port = 0;
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'hotpot-printer-'));
  }

  set(status: EmulatedStatus): void {
    this.status = { ...status };
  }

  canPrint(): boolean {
    const s = this.status;
    return !(s.offline || s.coverOpen || s.paperEnd || s.error || s.cutterError);
  }

  /** `tcp://127.0.0.1:PORT`; the same port again after closeTcp(). */
  get tcpAddress(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** The serial device the agent opens (a symlink to a pty). */
  get serialPath(): string {
    return join(this.dir, 'printer');
  }

  async listenTcp(port = this.port): Promise<string> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      const decoder = new EscPosDecoder(this, (bytes) => socket.write(bytes));
      socket.on('data', (chunk: Buffer) => decoder.feed(chunk));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
    return this.tcpAddress;
  }

  /** Stops listening and drops connections: the port then refuses, like a printer switched off. */
  async closeTcp(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'the printer emulator to stop listening');
  }

  /** Plugs the serial twin in: socat makes a pty pair; the agent opens serialPath, we open the other end. */
  async plugSerial(): Promise<string> {
    const emu = join(this.dir, 'emu');
    this.socat = startChild(SOCAT_BIN, ['-d', '-d', `pty,raw,echo=0,link=${this.serialPath}`, `pty,raw,echo=0,link=${emu}`], { logFile: join(this.dir, 'socat.log') });
    await waitFor(() => existsSync(this.serialPath) && existsSync(emu), 'socat to create the pty pair', 10_000);
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: emu, baudRate: 9600, autoOpen: false });
    await withTimeout(new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve()))), 5000, 'the emulator end of the pty to open');
    const decoder = new EscPosDecoder(this, (bytes) => port.write(bytes));
    port.on('data', (chunk: Buffer) => decoder.feed(chunk));
    port.on('error', () => undefined);
    this.serial = port;
    return this.serialPath;
  }

  /** Pulls the serial cable: socat dies (SIGKILL), both ptys vanish. */
  async unplugSerial(): Promise<void> {
    const port = this.serial;
    this.serial = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    await this.socat?.kill('SIGKILL');
    this.socat = undefined;
  }

  async close(): Promise<void> {
    await this.closeTcp();
    await this.unplugSerial();
  }
}

/**
 * The paper's pictures as one image, `width` dots wide, as the printer would put them on paper:
 * raster images as sent, and each QR code drawn from its data at the cell size and error
 * correction the receipt asked for (with the quiet zone a scanner needs), centred.
 */
export function paperImage(receipt: PrintedReceipt, width: number): Bitmap {
  const rows: boolean[][] = [];
  for (const graphic of receipt.graphics) {
    if (graphic.kind === 'raster') {
      const { bitmap } = graphic;
      const row = (bitmap.width + 7) >> 3;
      for (let y = 0; y < bitmap.height; y++) {
        rows.push(Array.from({ length: width }, (_, x) => x < bitmap.width && (bitmap.data[y * row + (x >> 3)]! & (0x80 >> (x & 7))) !== 0));
      }
      continue;
    }
    const { modules } = QRCode.create(graphic.data, { errorCorrectionLevel: graphic.correction });
    const side = (modules.size + 8) * graphic.cellSize;
    const left = Math.max(0, Math.floor((width - side) / 2));
    for (let y = 0; y < side; y++) {
      const my = Math.floor(y / graphic.cellSize) - 4;
      rows.push(
        Array.from({ length: width }, (_, x) => {
          const mx = Math.floor((x - left) / graphic.cellSize) - 4;
          return mx >= 0 && my >= 0 && mx < modules.size && my < modules.size && Boolean(modules.get(my, mx));
        }),
      );
    }
  }
  const row = (width + 7) >> 3;
  const data = new Uint8Array(row * rows.length);
  rows.forEach((dots, y) => dots.forEach((black, x) => black && (data[y * row + (x >> 3)]! |= 0x80 >> (x & 7))));
  return { width, height: rows.length, data };
}

/** A 1-bit image as a PNG file's bytes (black ink on white), for a person to look at. */
export function bitmapPng(bitmap: Bitmap): Buffer {
  const row = (bitmap.width + 7) >> 3;
  const raw = Buffer.alloc((row + 1) * bitmap.height);
  for (let y = 0; y < bitmap.height; y++) {
    raw[y * (row + 1)] = 0;
    // PNG's 1-bit greyscale has 1 = white: invert the printer's 1 = black.
    for (let i = 0; i < row; i++) raw[y * (row + 1) + 1 + i] = ~bitmap.data[y * row + i]! & 0xff;
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(bitmap.width, 0);
  header.writeUInt32BE(bitmap.height, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
