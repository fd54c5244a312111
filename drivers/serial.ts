import type { SerialPort } from 'serialport';
import { withTimeout } from '../lib/timeout.js';
import { DeviceUnreachableError, type ByteChannel } from './channel.js';

type SerialModule = typeof import('serialport');
let serialModule: Promise<SerialModule> | undefined;

/** serialport is native: it is loaded on first use, so a broken build only breaks serial devices. */
async function loadSerialport(): Promise<SerialModule> {
  serialModule ??= import('serialport');
  try {
    return await serialModule;
  } catch (error) {
    serialModule = undefined;
    throw new DeviceUnreachableError(`the serial driver (serialport) failed to load: ${(error as Error).message}`, 'EDRIVER');
  }
}

const OPEN_HINTS: Record<string, string> = {
  ENOENT: 'does not exist (unplugged, or a wrong /dev/serial/by-id path?)',
  EACCES: 'is not accessible (is the agent user in the dialout group?)',
  EBUSY: 'is held by another program',
};

/** serialport's open errors carry strerror text, not an errno code. */
const STRERROR_CODES: [RegExp, string][] = [
  [/ENOENT|No such file or directory/i, 'ENOENT'],
  [/EACCES|Permission denied/i, 'EACCES'],
  [/EBUSY|busy/i, 'EBUSY'],
];

function openError(path: string, error: Error): DeviceUnreachableError {
  const code = STRERROR_CODES.find(([pattern]) => pattern.test(error.message))?.[1] ?? (error as NodeJS.ErrnoException).code;
  const hint = code ? OPEN_HINTS[code] : undefined;
  return new DeviceUnreachableError(hint ? `serial port ${path} ${hint}` : `serial port ${path} cannot be opened: ${error.message}`, code);
}

/**
 * A promise-based serial line: open, write, read with a timeout, close. After an unplug (or any
 * port error) it forgets the port and opens the path again on the next use, so a replugged
 * device (its /dev/serial/by-id symlink now pointing at a new ttyUSBn) comes back by itself.
 */
export class SerialLine implements ByteChannel {
  private port: SerialPort | undefined;
  private opening: Promise<SerialPort> | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private onBytes: (() => void) | undefined;
  private onLost: ((error: Error) => void) | undefined;

  constructor(readonly address: string, private readonly options: { baudRate: number }) {}

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Opens the port unless it is open; concurrent callers share one attempt. */
  async open(timeoutMs: number): Promise<SerialPort> {
    if (this.port?.isOpen) return this.port;
    this.opening ??= this.openPort(timeoutMs).finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async openPort(timeoutMs: number): Promise<SerialPort> {
    const { SerialPort } = await loadSerialport();
    const port = new SerialPort({ path: this.address, baudRate: this.options.baudRate, autoOpen: false });
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(openError(this.address, error)) : resolve()))),
        timeoutMs,
        `serial port ${this.address} to open`,
      );
    } catch (error) {
      if (port.isOpen) port.close();
      throw error;
    }
    port.on('data', (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
      this.onBytes?.();
    });
    const lost = (error: Error | null) => {
      if (this.port !== port) return;
      this.port = undefined;
      if (port.isOpen) port.close();
      this.onLost?.(new DeviceUnreachableError(`serial port ${this.address} went away (${error?.message ?? 'closed'})`, 'EIO'));
    };
    port.on('close', lost);
    port.on('error', lost);
    this.port = port;
    return port;
  }

  async write(data: Buffer, timeoutMs: number, what: string): Promise<void> {
    const port = await this.open(timeoutMs);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        port.write(data, (error) => {
          if (error) return reject(new DeviceUnreachableError(`writing to serial port ${this.address} failed: ${error.message}`, 'EIO'));
          port.drain((drainError) => (drainError ? reject(new DeviceUnreachableError(`serial port ${this.address}: ${drainError.message}`, 'EIO')) : resolve()));
        });
      }),
      timeoutMs,
      what,
    );
  }

  /** Resolves with exactly `count` bytes from the line, or fails when `timeoutMs` passes first. */
  async read(count: number, timeoutMs: number, what: string): Promise<Buffer> {
    try {
      return await withTimeout(
        new Promise<Buffer>((resolve, reject) => {
          const check = () => {
            if (this.bufferedBytes < count) return;
            const all = Buffer.concat(this.buffered);
            this.buffered = all.length > count ? [all.subarray(count)] : [];
            this.bufferedBytes = all.length - count;
            resolve(all.subarray(0, count));
          };
          this.onBytes = check;
          this.onLost = reject;
          check();
        }),
        timeoutMs,
        what,
      );
    } finally {
      this.onBytes = undefined;
      this.onLost = undefined;
    }
  }

  async exchange(data: Buffer, replyBytes: number, timeoutMs: number, what: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    await this.open(left());
    // A late answer to an earlier, timed-out request must not be taken for this one's.
    this.buffered = [];
    this.bufferedBytes = 0;
    await this.write(data, left(), `serial port ${this.address} to take ${data.length} bytes`);
    return replyBytes > 0 ? this.read(replyBytes, left(), `${what} on ${this.address}`) : Buffer.alloc(0);
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return;
    await withTimeout(new Promise<void>((resolve) => port.close(() => resolve())), 2000, `serial port ${this.address} to close`).catch(() => undefined);
  }
}
