import type { ByteChannel } from './channel.js';
import { TcpChannel } from './channel.js';
import { SerialLine } from './serial.js';
import { STATUS_QUERY, STATUS_REPLY_BYTES, decodeStatus, encodeReceipt } from './escpos.js';
import type { Printer, PrinterFlags, ReceiptBlock } from './types.js';

export interface PrinterOptions {
  /** `tcp://host:port` or a serial device path. */
  address: string;
  baudRate: number;
  /** Characters per line. */
  width: number;
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
    const bytes = await encodeReceipt(receipt, this.options.width);
    // The status query goes after the receipt on the same stream: its answer means the printer
    // has read every byte before it.
    return this.serialized(async () =>
      decodeStatus(
        await this.channel.exchange(Buffer.concat([bytes, STATUS_QUERY]), STATUS_REPLY_BYTES, this.options.printTimeoutMs, "the printer's status after the receipt"),
      ),
    );
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
