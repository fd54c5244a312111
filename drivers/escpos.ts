import type { PrinterFlags, ReceiptBlock } from './types.js';

const DLE = 0x10;
const EOT = 0x04;

/** DLE EOT 1..4: printer, offline cause, error cause and paper sensor status, one byte each. */
export const STATUS_QUERY = Buffer.from([DLE, EOT, 1, DLE, EOT, 2, DLE, EOT, 3, DLE, EOT, 4]);
export const STATUS_REPLY_BYTES = 4;

/** Bits 1 and 4 are always set and bits 0 and 7 always clear in a DLE EOT answer. */
function isStatusByte(byte: number): boolean {
  return (byte & 0x93) === 0x12;
}

export class PrinterProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrinterProtocolError';
  }
}

/** Decodes the four DLE EOT answer bytes (Epson ESC/POS, followed by most receipt printers). */
export function decodeStatus(reply: Buffer): PrinterFlags {
  if (reply.length !== STATUS_REPLY_BYTES || ![...reply].every(isStatusByte)) {
    throw new PrinterProtocolError(`the printer answered DLE EOT with ${reply.toString('hex') || 'nothing'}, not 4 ESC/POS status bytes`);
  }
  const [printer, offline, error, paper] = [reply[0]!, reply[1]!, reply[2]!, reply[3]!];
  const cutterError = (error & 0x08) !== 0;
  const recoverableError = (error & 0x44) !== 0;
  // n=2 bit 6 says "an error occurred"; n=3 says which. Unexplained, it counts as unrecoverable.
  const unexplained = (offline & 0x40) !== 0 && !cutterError && !recoverableError;
  return {
    offline: (printer & 0x08) !== 0,
    coverOpen: (offline & 0x04) !== 0,
    feeding: (offline & 0x08) !== 0,
    paperEnd: (offline & 0x20) !== 0 || (paper & 0x60) !== 0,
    error: (error & 0x20) !== 0 || unexplained,
    recoverableError,
    cutterError,
    paperNearEnd: (paper & 0x0c) !== 0,
  };
}

export interface PrinterAssessment {
  status: 'up' | 'degraded' | 'down';
  /** Why, most serious first; empty when ready. */
  reasons: string[];
}

/** up when ready, degraded when paper is near its end, down when it cannot print (and why). */
export function assessPrinter(flags: PrinterFlags): PrinterAssessment {
  const stops: string[] = [];
  if (flags.paperEnd) stops.push('paper end: load a new roll');
  if (flags.coverOpen) stops.push('cover open');
  if (flags.cutterError) stops.push('cutter error (paper jam?)');
  if (flags.error) stops.push('unrecoverable error: power-cycle the printer');
  if (flags.recoverableError) stops.push('recoverable error (head overheated or cover opened while printing)');
  if (flags.feeding) stops.push('paper is being fed with the FEED button');
  if (flags.offline && stops.length === 0) stops.push('offline');
  if (stops.length) return { status: 'down', reasons: stops };
  if (flags.paperNearEnd) return { status: 'degraded', reasons: ['paper near end: change the roll soon'] };
  return { status: 'up', reasons: [] };
}

type ThermalModule = typeof import('node-thermal-printer');
let thermal: Promise<ThermalModule> | undefined;

/** node-thermal-printer is loaded on the first receipt, so the agent starts without it. */
function loadThermal(): Promise<ThermalModule> {
  thermal ??= import('node-thermal-printer');
  return thermal;
}

const INIT = Buffer.from([0x1b, 0x40]);

/**
 * Builds the ESC/POS bytes of one receipt (ending with a cut) with node-thermal-printer's
 * buffer; the bytes are sent by our own transport, which also reads the real status back.
 */
export async function encodeReceipt(blocks: readonly ReceiptBlock[], width: number): Promise<Buffer> {
  const { ThermalPrinter, PrinterTypes, CharacterSet, BreakLine } = await loadThermal();
  // No interface: the library only builds the buffer. PC437 is the printers' power-on code page;
  // the library switches code pages itself for characters outside it.
  const doc = new ThermalPrinter({ type: PrinterTypes.EPSON, interface: '', width, characterSet: CharacterSet.PC437_USA, breakLine: BreakLine.WORD });
  for (const block of blocks) {
    switch (block.kind) {
      case 'text':
        if (block.align === 'center') doc.alignCenter();
        else if (block.align === 'right') doc.alignRight();
        if (block.bold) doc.bold(true);
        if (block.large) doc.setTextDoubleHeight();
        doc.println(block.text);
        if (block.large) doc.setTextNormal();
        if (block.bold) doc.bold(false);
        if (block.align && block.align !== 'left') doc.alignLeft();
        break;
      case 'pair': {
        if (block.bold) doc.bold(true);
        if (block.left.length + block.right.length + 1 > width) {
          doc.println(block.left);
          doc.leftRight('', block.right);
        } else {
          doc.leftRight(block.left, block.right);
        }
        if (block.bold) doc.bold(false);
        break;
      }
      case 'rule':
        doc.drawLine();
        break;
      case 'qr':
        doc.alignCenter();
        doc.printQR(block.data, { cellSize: 6, correction: 'M', model: 2 });
        doc.newLine();
        doc.alignLeft();
        break;
    }
  }
  doc.cut();
  return Buffer.concat([INIT, doc.getBuffer()]);
}
