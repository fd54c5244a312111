import { createHash } from 'node:crypto';
import { CaptureError, UnsupportedJpegError, type FrameInfo } from './frame.js';

/*
 * Measures a baseline JPEG without decoding its pixels. A block's DC coefficient times its
 * quantiser, over 8, is the block's mean sample minus 128, so the luma blocks' DC values give the
 * mean luma; the AC coefficients only need their Huffman codes walked (to find the next block),
 * never their values transformed. No IDCT, no upsampling, no colour conversion, no pixel buffer.
 */

function corrupt(why: string): CaptureError {
  return new CaptureError(`the image does not decode as JPEG (${why})`);
}

/** The largest frame measured, as the jpeg-js fallback's maxResolutionInMP. */
export const MAX_PIXELS = 40e6;

/** Codes up to this long are decoded with one table lookup; longer ones (rare) bit length by bit length. */
const LOOKUP_BITS = 9;

interface HuffmanTable {
  /** `(code length << 8) | symbol` for each LOOKUP_BITS-bit prefix that starts with a short code; 0 otherwise. */
  lookup: Uint16Array;
  /** Largest code of each length (index 1..16), -1 where no code has that length. */
  maxCode: Int32Array;
  /** `symbols[offset[length] + code]` is a code's symbol. */
  offset: Int32Array;
  symbols: Uint8Array;
}

/** A DHT table (16 code counts, then the symbols) as canonical Huffman codes, per ITU T.81 Annex C. */
function huffmanTable(counts: Uint8Array, symbols: Uint8Array): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKUP_BITS);
  const maxCode = new Int32Array(17).fill(-1);
  const offset = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const count = counts[length - 1]!;
    offset[length] = k - code;
    for (let i = 0; i < count; i++, code++, k++) {
      if (length <= LOOKUP_BITS) {
        const shift = LOOKUP_BITS - length;
        lookup.fill((length << 8) | symbols[k]!, code << shift, (code + 1) << shift);
      }
    }
    if (code > 1 << length) throw corrupt('a Huffman table has more codes than its code lengths allow');
    if (count > 0) maxCode[length] = code - 1;
    code <<= 1;
  }
  return { lookup, maxCode, offset, symbols };
}

/**
 * Reads the entropy-coded data of a scan, removing stuffed zero bytes. At a marker (or the end of
 * the file) it feeds zero bits so that a lookup may peek past the last code, and counts them:
 * consuming any of them means the scan ended before its last block.
 */
class BitReader {
  /** The low `count` bits are unread, the oldest highest. */
  private bits = 0;
  count = 0;
  /** Zero bits fed past the end of the data; `count < padding` once any was consumed. */
  padding = 0;
  private atEnd = false;

  constructor(private readonly data: Buffer, public pos: number) {}

  private fill(): void {
    const data = this.data;
    while (this.count <= 24) {
      let byte = 0;
      if (!this.atEnd) {
        byte = this.pos < data.length ? data[this.pos]! : 0;
        if (this.pos >= data.length || (byte === 0xff && data[this.pos + 1] !== 0)) {
          this.atEnd = true;
          byte = 0;
        } else {
          this.pos += byte === 0xff ? 2 : 1;
        }
      }
      if (this.atEnd) this.padding += 8;
      this.bits = (this.bits << 8) | byte;
      this.count += 8;
    }
  }

  decode(table: HuffmanTable): number {
    if (this.count < 16) this.fill();
    const entry = table.lookup[(this.bits >>> (this.count - LOOKUP_BITS)) & ((1 << LOOKUP_BITS) - 1)]!;
    if (entry !== 0) {
      this.count -= entry >> 8;
      return entry & 0xff;
    }
    const next16 = (this.bits >>> (this.count - 16)) & 0xffff;
    for (let length = LOOKUP_BITS + 1; length <= 16; length++) {
      const code = next16 >>> (16 - length);
      if (code <= table.maxCode[length]!) {
        this.count -= length;
        return table.symbols[table.offset[length]! + code]!;
      }
    }
    throw corrupt('invalid Huffman code');
  }

  /** The next `n` (0..16) bits as an unsigned number. */
  read(n: number): number {
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.bits >>> this.count) & ((1 << n) - 1);
  }

  skip(n: number): void {
    if (this.count < n) this.fill();
    this.count -= n;
  }

  /** Where the marker after the data read so far starts, past any trailing bytes (as libjpeg and jpeg-js skip them). */
  nextMarker(): number {
    const data = this.data;
    let p = this.pos;
    while (p + 1 < data.length && !(data[p] === 0xff && data[p + 1] !== 0)) p++;
    if (p + 1 >= data.length) throw corrupt('truncated inside the image data: no EOI marker');
    return p;
  }

  /** Steps over the RSTn marker that must end a restart interval, and starts reading after it. */
  restart(index: number): void {
    // Only the padding of the interval's last byte may be left.
    if (this.count - this.padding >= 8) throw corrupt('extra data before a restart marker');
    const data = this.data;
    let p = this.pos;
    while (data[p] === 0xff && data[p + 1] === 0xff) p++;
    if (data[p] !== 0xff || data[p + 1] !== 0xd0 + (index & 7)) throw corrupt(`restart marker RST${index & 7} missing`);
    this.pos = p + 2;
    this.bits = 0;
    this.count = 0;
    this.padding = 0;
    this.atEnd = false;
  }
}

interface FrameComponent {
  id: number;
  h: number;
  v: number;
  quantTable: number;
}

interface Frame {
  width: number;
  height: number;
  components: FrameComponent[];
  hMax: number;
  vMax: number;
}

/** One block of an MCU: whose DC predictor, which tables, and where it sits in the MCU. */
interface BlockSlot {
  component: number;
  dc: HuffmanTable;
  ac: HuffmanTable;
  dx: number;
  dy: number;
}

/** How much of each 8-sample block along one axis lies inside the component (edge blocks partly). */
function coverage(blocks: number, samples: number): Float64Array {
  const weights = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) weights[b] = Math.min(8, Math.max(0, samples - 8 * b)) / 8;
  return weights;
}

/**
 * Walks every MCU of a scan that holds all the frame's components and returns the mean of the
 * luma blocks' DC values, each weighted by the share of the block inside the image: MCU padding
 * blocks weigh 0, an edge block as much as it covers (its DC also averages the samples the encoder
 * padded it with, a small error on the edge blocks only).
 */
function walkScan(reader: BitReader, frame: Frame, slots: BlockSlot[], restartInterval: number): number {
  const luma = frame.components[0]!;
  const interleaved = frame.components.length > 1;
  // Sample counts of the luma component (ITU T.81 A.1.1), and its blocks per MCU.
  const lumaWidth = Math.ceil((frame.width * luma.h) / frame.hMax);
  const lumaHeight = Math.ceil((frame.height * luma.v) / frame.vMax);
  const [mcuColumns, mcuRows, lumaH, lumaV] = interleaved
    ? [Math.ceil(frame.width / (8 * frame.hMax)), Math.ceil(frame.height / (8 * frame.vMax)), luma.h, luma.v]
    : [Math.ceil(lumaWidth / 8), Math.ceil(lumaHeight / 8), 1, 1];
  const columnWeight = coverage(mcuColumns * lumaH, lumaWidth);
  const rowWeight = coverage(mcuRows * lumaV, lumaHeight);
  const predictors = new Int32Array(frame.components.length);
  let lumaSum = 0;
  let mcu = 0;
  for (let my = 0; my < mcuRows; my++) {
    for (let mx = 0; mx < mcuColumns; mx++) {
      if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
        reader.restart(mcu / restartInterval - 1);
        predictors.fill(0);
      }
      for (const slot of slots) {
        const size = reader.decode(slot.dc);
        if (size > 16) throw corrupt('a DC difference longer than 16 bits');
        let dc = predictors[slot.component]!;
        if (size > 0) {
          const bits = reader.read(size);
          dc += bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits;
          predictors[slot.component] = dc;
        }
        // AC: skip each coefficient's bits; run/size 0x00 ends the block (EOB), 0xF0 skips 16 zeros (ZRL).
        for (let k = 1; k < 64; ) {
          const runSize = reader.decode(slot.ac);
          const size = runSize & 15;
          if (size > 0) {
            reader.skip(size);
            k += (runSize >> 4) + 1;
          } else if (runSize === 0xf0) {
            k += 16;
          } else {
            break;
          }
        }
        if (reader.count < reader.padding) throw corrupt('the image data ends before its last block');
        if (slot.component === 0) lumaSum += columnWeight[mx * lumaH + slot.dx]! * rowWeight[my * lumaV + slot.dy]! * dc;
      }
      mcu++;
    }
  }
  return lumaSum / ((lumaWidth * lumaHeight) / 64);
}

/**
 * Width, height, mean luma and a hash of a baseline (SOF0/SOF1, 8-bit, Huffman, one scan) JPEG.
 * The hash covers what determines the pixels (quantisation and Huffman tables, frame and scan
 * headers, restart interval, entropy-coded data) and not APPn/COM segments, so an EXIF timestamp
 * does not change it. Throws CaptureError on a broken file, UnsupportedJpegError on other kinds.
 */
export function scanJpeg(bytes: Buffer): FrameInfo {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw corrupt('no SOI marker at the start');
  const hash = createHash('sha1');
  const quantDc: (number | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let adobeRgb = false;
  let meanLuma: number | undefined;
  let pos = 2;
  for (;;) {
    if (pos + 1 >= bytes.length) throw corrupt('truncated: no EOI marker');
    if (bytes[pos] !== 0xff) throw corrupt(`no marker at byte ${pos}`);
    while (bytes[pos + 1] === 0xff) pos++; // fill bytes before a marker
    const marker = bytes[pos + 1];
    if (marker === undefined) throw corrupt('truncated: no EOI marker');
    if (marker === 0xd9) break;
    if (meanLuma !== undefined && marker >= 0xd0 && marker <= 0xd7) {
      // Some encoders end the last restart interval with an RSTn too; libjpeg and jpeg-js accept it.
      pos += 2;
      continue;
    }
    if (marker === 0x00 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) throw corrupt(`unexpected marker 0xFF${hex(marker)} at byte ${pos}`);
    if (pos + 4 > bytes.length) throw corrupt('truncated inside a segment header');
    const end = pos + 2 + bytes.readUInt16BE(pos + 2);
    if (end < pos + 4 || end > bytes.length) throw corrupt(`truncated: the segment 0xFF${hex(marker)} at byte ${pos} runs past the end`);
    const segment = bytes.subarray(pos, end);
    const body = bytes.subarray(pos + 4, end);
    if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) {
      // Metadata, not hashed; only Adobe's APP14 says whether three components are RGB rather than YCbCr.
      if (marker === 0xee && body.length >= 12 && body.toString('latin1', 0, 5) === 'Adobe') adobeRgb = body[11] === 0;
      pos = end;
      continue;
    }
    switch (marker) {
      case 0xc0:
      case 0xc1:
        if (frame) throw corrupt('a second frame header');
        frame = parseFrame(body);
        break;
      case 0xdb:
        parseQuantTables(body, quantDc);
        break;
      case 0xc4:
        parseHuffmanTables(body, dcTables, acTables);
        break;
      case 0xdd:
        if (body.length !== 2) throw corrupt('a DRI segment of the wrong length');
        restartInterval = body.readUInt16BE(0);
        break;
      case 0xda: {
        if (!frame) throw corrupt('image data before the frame header');
        if (meanLuma !== undefined) throw new UnsupportedJpegError('several scans');
        if (frame.components.length === 3 && adobeRgb) throw new UnsupportedJpegError('RGB colour (Adobe transform 0)');
        const slots = parseScan(body, frame, dcTables, acTables);
        const q0 = quantDc[frame.components[0]!.quantTable];
        if (q0 === undefined) throw corrupt('the luma quantisation table is missing');
        hash.update(segment);
        const reader = new BitReader(bytes, end);
        const dcMean = walkScan(reader, frame, slots, restartInterval);
        meanLuma = Math.min(255, Math.max(0, 128 + (dcMean * q0) / 8));
        const scanEnd = reader.nextMarker();
        hash.update(bytes.subarray(end, scanEnd));
        pos = scanEnd;
        continue;
      }
      default:
        // SOF2/3/5-7/9-15 (progressive, lossless, hierarchical, arithmetic), DAC, DNL, DHP, EXP, JPGn.
        throw new UnsupportedJpegError(`marker 0xFF${hex(marker)}`);
    }
    hash.update(segment);
    pos = end;
  }
  if (!frame || meanLuma === undefined) throw corrupt('no image data before the EOI marker');
  return { width: frame.width, height: frame.height, meanLuma, hash: hash.digest('hex') };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

function parseFrame(body: Buffer): Frame {
  if (body.length < 6) throw corrupt('a frame header too short');
  if (body[0] !== 8) throw new UnsupportedJpegError(`${body[0]}-bit samples`);
  const height = body.readUInt16BE(1);
  const width = body.readUInt16BE(3);
  if (width === 0 || height === 0) throw new CaptureError('the image has no pixels');
  // As the jpeg-js fallback (maxResolutionInMP): a crafted header must not hold the event loop.
  if (width * height > MAX_PIXELS) throw new CaptureError(`${width}x${height} is larger than a camera frame can be (${MAX_PIXELS / 1e6} MP)`);
  const count = body[5]!;
  if (body.length !== 6 + 3 * count) throw corrupt('a frame header of the wrong length');
  // Greyscale or YCbCr; two components or CMYK/YCCK are not luma-first pictures.
  if (count !== 1 && count !== 3) throw new UnsupportedJpegError(`${count} colour components`);
  const components: FrameComponent[] = [];
  for (let i = 0; i < count; i++) {
    const at = 6 + 3 * i;
    const component = { id: body[at]!, h: body[at + 1]! >> 4, v: body[at + 1]! & 15, quantTable: body[at + 2]! };
    if (component.h < 1 || component.h > 4 || component.v < 1 || component.v > 4) throw corrupt('a sampling factor outside 1..4');
    if (component.quantTable > 3) throw corrupt('a quantisation table number above 3');
    if (components.some((c) => c.id === component.id)) throw corrupt('two components with one id');
    components.push(component);
  }
  return { width, height, components, hMax: Math.max(...components.map((c) => c.h)), vMax: Math.max(...components.map((c) => c.v)) };
}

/** Keeps each table's DC quantiser, the only one the mean needs (the tables themselves are hashed). */
function parseQuantTables(body: Buffer, quantDc: (number | undefined)[]): void {
  for (let at = 0; at < body.length; ) {
    const precision = body[at]! >> 4;
    const id = body[at]! & 15;
    if (precision > 1 || id > 3) throw corrupt('a DQT table with a bad precision or number');
    const size = 64 * (precision + 1);
    if (at + 1 + size > body.length) throw corrupt('a DQT segment shorter than its tables');
    quantDc[id] = precision ? body.readUInt16BE(at + 1) : body[at + 1]!;
    at += 1 + size;
  }
}

function parseHuffmanTables(body: Buffer, dcTables: (HuffmanTable | undefined)[], acTables: (HuffmanTable | undefined)[]): void {
  for (let at = 0; at < body.length; ) {
    const kind = body[at]! >> 4;
    const id = body[at]! & 15;
    if (kind > 1 || id > 3) throw corrupt('a DHT table with a bad class or number');
    if (at + 17 > body.length) throw corrupt('a DHT segment shorter than its tables');
    const counts = body.subarray(at + 1, at + 17);
    const total = counts.reduce((sum, c) => sum + c, 0);
    if (total > 256 || at + 17 + total > body.length) throw corrupt('a DHT segment shorter than its tables');
    (kind === 0 ? dcTables : acTables)[id] = huffmanTable(counts, body.subarray(at + 17, at + 17 + total));
    at += 17 + total;
  }
}

/** The blocks of one MCU, in coding order (ITU T.81 A.2): one block per MCU when the scan is not interleaved. */
function parseScan(body: Buffer, frame: Frame, dcTables: (HuffmanTable | undefined)[], acTables: (HuffmanTable | undefined)[]): BlockSlot[] {
  const count = body[0] ?? 0;
  if (body.length !== 4 + 2 * count) throw corrupt('a scan header of the wrong length');
  if (count !== frame.components.length) throw new UnsupportedJpegError('components coded in separate scans');
  const slots: BlockSlot[] = [];
  for (let i = 0; i < count; i++) {
    const component = frame.components.findIndex((c) => c.id === body[1 + 2 * i]);
    if (component < 0) throw corrupt('a scan of a component the frame does not have');
    const dc = dcTables[body[2 + 2 * i]! >> 4];
    const ac = acTables[body[2 + 2 * i]! & 15];
    if (!dc || !ac) throw corrupt('a scan that uses an undefined Huffman table');
    const { h, v } = count > 1 ? frame.components[component]! : { h: 1, v: 1 };
    for (let dy = 0; dy < v; dy++) for (let dx = 0; dx < h; dx++) slots.push({ component, dc, ac, dx, dy });
  }
  return slots;
}
