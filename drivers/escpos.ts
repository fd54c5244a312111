import type { PrinterFlags, ReceiptBlock } from './types.js';
import { bytesPerRow, drawLines, type Bitmap, type FontStack, type PlacedText } from './raster.js';

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

const ESC = 0x1b;
const GS = 0x1d;
const LF = 0x0a;
const INIT = Buffer.from([ESC, 0x40]);

/**
 * Code pages a receipt's text may use, by ESC t number (Epson's table; most receipt printers
 * follow it). The Cyrillic one is configurable (`receipt.codePage`): PC866 or WPC1251 are the two
 * most printers have. WPC1252 covers the Latin punctuation (—, «», №-less) the English strings use.
 */
export const CODE_PAGES = {
  cp866: { table: 17, label: 'ibm866' },
  cp1251: { table: 46, label: 'windows-1251' },
  wpc1252: { table: 16, label: 'windows-1252' },
} as const;
export type CodePageName = keyof typeof CODE_PAGES;

interface CodePage {
  table: number;
  bytes: Map<string, number>;
}

const pageCache = new Map<string, CodePage>();

/** Windows-1252's 0x80-0x9F (Node's decoder reads them as Latin-1's C1 controls). */
const CP1252_80_9F = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

/** The code page's upper half as character → byte (built from the platform's decoder). */
function codePage(name: CodePageName, table: number = CODE_PAGES[name].table): CodePage {
  const key = `${name}:${table}`;
  let page = pageCache.get(key);
  if (!page) {
    const decoder = new TextDecoder(CODE_PAGES[name].label);
    const bytes = new Map<string, number>();
    for (let byte = 0x80; byte <= 0xff; byte++) {
      const char = name === 'wpc1252' && byte < 0xa0 ? CP1252_80_9F[byte - 0x80]! : decoder.decode(Uint8Array.of(byte));
      // C1 controls and the replacement character are not printable text.
      if (char !== '\ufffd' && char.codePointAt(0)! >= 0xa0 && !bytes.has(char)) bytes.set(char, byte);
    }
    page = { table, bytes };
    pageCache.set(key, page);
  }
  return page;
}

/** Printable ASCII; a tab or a control character would be a command, so they are spaces. */
function asciiByte(char: string): number | null {
  const cp = char.codePointAt(0)!;
  if (cp >= 0x20 && cp < 0x7f) return cp;
  return /\s/.test(char) ? 0x20 : null;
}

/** Typographic characters most code pages lack, and the plain ones paper can carry instead. */
const PLAIN: Record<string, string> = { '—': '-', '–': '-', '−': '-', '“': '"', '”': '"', '„': '"', '«': '"', '»': '"', '‘': "'", '’': "'", '…': '...' };

/**
 * `text` in one code page (its typographic dashes and quotes made plain if that is what it takes),
 * or null when no page the printer is set up for has every character.
 */
export function encodeText(text: string, pages: readonly CodePage[]): { table: number | null; bytes: Buffer } | null {
  const exact = encodeExactly(text, pages);
  if (exact) return exact;
  const plain = text.replace(/[—–−“”„«»‘’…]/g, (char) => PLAIN[char]!);
  return plain === text ? null : encodeExactly(plain, pages);
}

function encodeExactly(text: string, pages: readonly CodePage[]): { table: number | null; bytes: Buffer } | null {
  const ascii = [...text].map(asciiByte);
  if (ascii.every((b) => b !== null)) return { table: null, bytes: Buffer.from(ascii as number[]) };
  for (const page of pages) {
    const out: number[] = [];
    for (const char of text) {
      const byte = asciiByte(char) ?? page.bytes.get(char);
      if (byte === undefined || byte === null) break;
      out.push(byte);
    }
    if (out.length === [...text].length) return { table: page.table, bytes: Buffer.from(out) };
  }
  return null;
}

/** GS v 0: one raster image, normal density. */
export function rasterCommand(bitmap: Bitmap): Buffer {
  const row = bytesPerRow(bitmap.width);
  const header = Buffer.from([GS, 0x76, 0x30, 0, row & 0xff, row >> 8, bitmap.height & 0xff, bitmap.height >> 8]);
  return Buffer.concat([header, Buffer.from(bitmap.data.buffer, bitmap.data.byteOffset, row * bitmap.height)]);
}

/** ESC p: a pulse on the drawer connector's pin 2 or 5 (units of 2 ms). */
export function drawerKickCommand(pin: 2 | 5, pulseMs: number): Buffer {
  const on = Math.max(1, Math.min(255, Math.round(pulseMs / 2)));
  return Buffer.from([ESC, 0x70, pin === 2 ? 0 : 1, on, Math.min(255, on * 2)]);
}

export interface ReceiptFonts {
  regular: FontStack;
  bold: FontStack;
}

export interface ReceiptEncoding {
  /** Characters per line in the printer's font A (48 on 80 mm, 32 on 58 mm). */
  width: number;
  /** Dots per line (576 on 80 mm, 384 on 58 mm). */
  dots: number;
  /** How Cyrillic goes to paper: a code page the printer has, or drawn as an image. */
  codePage: CodePageName | 'raster';
  /** ESC t number of that code page, when the printer's differs from Epson's. */
  codePageTable?: number | undefined;
  /** The fonts text is drawn with when no code page has it (Georgian); loaded on first use. */
  fonts: () => Promise<ReceiptFonts>;
}

/** Dots per em of drawn text: about the height of font A (24 dots), and twice that for large. */
const RASTER_SIZE = 24;
const RASTER_LARGE_SIZE = 40;

type ThermalModule = typeof import('node-thermal-printer');
let thermal: Promise<ThermalModule> | undefined;

/** node-thermal-printer is loaded on the first receipt, so the agent starts without it. */
function loadThermal(): Promise<ThermalModule> {
  thermal ??= import('node-thermal-printer');
  return thermal;
}

/**
 * Builds the ESC/POS bytes of one receipt, ending with a cut, with node-thermal-printer's document
 * (alignment, emphasis, size, rules, the QR code, the cut). Text goes in bytes we encode ourselves:
 * the code page is chosen per line among those the printer has (with the printer's own ESC t
 * number), which the library cannot know. A line no code page holds (Georgian, or Cyrillic with
 * `codePage: raster`) is drawn on the box as a GS v 0 image at the printer's width. Nothing is
 * ever sent as '?'. Our own transport sends the bytes and reads the real status back.
 */
export async function encodeReceipt(blocks: readonly ReceiptBlock[], options: ReceiptEncoding): Promise<Buffer> {
  const { ThermalPrinter, PrinterTypes, CharacterSet, BreakLine } = await loadThermal();
  // No interface: the library only builds the buffer. PC437 is the printers' power-on code page.
  const doc = new ThermalPrinter({ type: PrinterTypes.EPSON, interface: '', width: options.width, characterSet: CharacterSet.PC437_USA, breakLine: BreakLine.WORD });
  const pages = [...(options.codePage === 'raster' ? [] : [codePage(options.codePage, options.codePageTable)]), codePage('wpc1252')];
  let table: number | null = null;
  let fonts: ReceiptFonts | undefined;
  /** The encoded text's bytes, after an ESC t when it needs another code page than the last. */
  const emit = (encoded: { table: number | null; bytes: Buffer }): Buffer => {
    if (encoded.table === null || encoded.table === table) return encoded.bytes;
    table = encoded.table;
    return Buffer.concat([Buffer.from([ESC, 0x74, table]), encoded.bytes]);
  };
  const align = (to: 'left' | 'center' | 'right') => (to === 'center' ? doc.alignCenter() : to === 'right' ? doc.alignRight() : doc.alignLeft());
  const draw = async (lines: (stack: FontStack) => PlacedText[][], bold: boolean, size: number) => {
    fonts ??= await options.fonts();
    const stack = bold ? fonts.bold : fonts.regular;
    doc.alignLeft();
    doc.append(rasterCommand(drawLines(stack, lines(stack), options.dots, size)));
  };
  for (const block of blocks) {
    switch (block.kind) {
      case 'text': {
        const encoded = encodeText(block.text, pages);
        const to = block.align ?? 'left';
        if (encoded) {
          align(to);
          doc.bold(Boolean(block.bold));
          if (block.large) doc.setTextDoubleHeight();
          doc.append(emit(encoded));
          doc.newLine();
          doc.setTextNormal();
          doc.bold(false);
          doc.alignLeft();
        } else {
          const size = block.large ? RASTER_LARGE_SIZE : RASTER_SIZE;
          await draw((stack) => stack.wrap(block.text, size, options.dots).map((line) => [{ text: line, align: to }]), Boolean(block.bold), size);
        }
        break;
      }
      case 'pair': {
        const left = encodeText(block.left, pages);
        const right = encodeText(block.right, pages);
        if (left && right) {
          const gap = options.width - [...block.left].length - [...block.right].length;
          doc.bold(Boolean(block.bold));
          if (gap >= 1) doc.append(Buffer.concat([emit(left), Buffer.alloc(gap, 0x20), emit(right)]));
          else doc.append(Buffer.concat([emit(left), Buffer.from([LF]), Buffer.alloc(Math.max(0, options.width - [...block.right].length), 0x20), emit(right)]));
          doc.newLine();
          doc.bold(false);
        } else {
          await draw((stack) => {
            const rightWidth = stack.measure(block.right, RASTER_SIZE);
            const lines = stack.wrap(block.left, RASTER_SIZE, options.dots - rightWidth - RASTER_SIZE);
            return lines.map((line, i) => [{ text: line, align: 'left' as const }, ...(i === 0 ? [{ text: block.right, align: 'right' as const }] : [])]);
          }, Boolean(block.bold), RASTER_SIZE);
        }
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
