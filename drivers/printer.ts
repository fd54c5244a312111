import type { ByteChannel } from './channel.js';
import { TcpChannel } from './channel.js';
import { SerialLine } from './serial.js';
import { STATUS_QUERY, STATUS_REPLY_BYTES, decodeStatus, drawerKickCommand, encodeReceipt, type CodePageName, type ReceiptFonts } from './escpos.js';
import { loadFontStack } from './raster.js';
import type { Printer, PrinterFlags, ReceiptBlock } from './types.js';

export interface PrinterOptions {
  /** `tcp://host:port` or a serial device path. */
  address: string;
  baudRate: number;
  /** Characters per line. */
  width: number;
  /** Dots per line, for text drawn as an image. */
  dots: number;
  /** Cyrillic through this code page, or drawn. */
  codePage: CodePageName | 'raster';
  codePageTable?: number | undefined;
  /** TrueType files text is drawn with when no code page has it, in fallback order. */
  fontFiles: { regular: string[]; bold: string[] };
  statusTimeoutMs: number;
  printTimeoutMs: number;
}

/**
 * An ESC/POS receipt printer over TCP or serial. Status is read with DLE EOT, never inferred
 * from a TCP connect. The status check and the print queue share one printer, so exchanges
 * are serialized: a status query never lands in the middle of a receipt.
 */
export class EscPosPrinter implements Printer {
  readonly address: string;
  private readonly channel: ByteChannel;
  private queue: Promise<unknown> = Promise.resolve();
  private fonts: Promise<ReceiptFonts> | undefined;

  constructor(private readonly options: PrinterOptions) {
    this.address = options.address;
    this.channel = options.address.startsWith('tcp://') ? new TcpChannel(options.address) : new SerialLine(options.address, { baudRate: options.baudRate });
  }

  status(): Promise<PrinterFlags> {
    return this.serialized(async () =>
      decodeStatus(await this.channel.exchange(STATUS_QUERY, STATUS_REPLY_BYTES, this.options.statusTimeoutMs, "the printer's answer to DLE EOT")),
    );
  }

  async print(receipt: ReceiptBlock[]): Promise<PrinterFlags> {
    const { width, dots, codePage, codePageTable } = this.options;
    const bytes = await encodeReceipt(receipt, { width, dots, codePage, codePageTable, fonts: () => this.loadFonts() });
    // The status query goes after the receipt on the same stream: its answer means the printer
    // has read every byte before it.
    return this.send(bytes, "the printer's status after the receipt");
  }

  kickDrawer(pin: 2 | 5, pulseMs: number): Promise<PrinterFlags> {
    return this.send(drawerKickCommand(pin, pulseMs), "the printer's status after the drawer kick");
  }

  private send(bytes: Buffer, what: string): Promise<PrinterFlags> {
    return this.serialized(async () => decodeStatus(await this.channel.exchange(Buffer.concat([bytes, STATUS_QUERY]), STATUS_REPLY_BYTES, this.options.printTimeoutMs, what)));
  }

  /** Parsed once, on the first receipt that needs drawn text; a failure is retried on the next. */
  private loadFonts(): Promise<ReceiptFonts> {
    this.fonts ??= (async () => {
      const [regular, bold] = await Promise.all([loadFontStack(this.options.fontFiles.regular), loadFontStack(this.options.fontFiles.bold)]);
      return { regular, bold };
    })();
    this.fonts.catch(() => (this.fonts = undefined));
    return this.fonts;
  }

  close(): Promise<void> {
    return this.serialized(() => this.channel.close());
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
