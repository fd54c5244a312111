import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
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

export interface PrintedReceipt {
  lines: string[];
  text: string;
  qr: string[];
}

/** Windows-1252 0x80-0x9F (Node's TextDecoder reads windows-1252 as Latin-1 there); Latin-1 above. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';
const IBM866 = new TextDecoder('ibm866');
/** Code pages the emulator decodes (ESC t n: 16 = WPC1252, 17 = PC866); others print high bytes as '?'. */
const CODE_PAGES: Record<number, (byte: number) => string> = {
  16: (byte) => (byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : String.fromCharCode(byte)),
  17: (byte) => IBM866.decode(Uint8Array.of(byte)),
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

  constructor(private readonly printer: PrinterEmulator, private readonly reply: (bytes: Buffer) => void) {}

  feed(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const used = this.step(this.pending);
      if (used === 0) return;
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
    if (body[1] === 0x50) this.storedQr = body.subarray(3).toString('latin1');
    if (body[1] === 0x51) this.printing(() => this.qr.push(this.storedQr));
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
    this.printer.receipts.push({ lines, text: lines.join('\n'), qr: this.qr });
    this.lines = [];
    this.qr = [];
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
