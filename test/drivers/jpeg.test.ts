import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { CaptureError, UnsupportedJpegError } from '../../drivers/frame.js';
import { scanJpeg } from '../../drivers/jpeg.js';
import { inspectJpeg } from '../../drivers/index.js';
import { FSWEBCAM_BIN } from '../peers/camera.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';

interface Picture {
  width: number;
  height: number;
  /** RGBA, as jpeg-js encodes it. */
  data: Buffer;
}

type Kind = 'blobs' | 'noise' | 'gradient' | 'black' | 'white';

/** A seeded picture: smooth random blobs, per-pixel noise, a gradient or a flat field. */
function picture(kind: Kind, width: number, height: number, seed = 1): Picture {
  let state = seed * 2654435761;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
  const phases = Array.from({ length: 9 }, () => random() * 6.28);
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        let value = 0;
        if (kind === 'blobs') value = 128 + 60 * Math.sin(x / (9 + 5 * c) + phases[c]!) + 60 * Math.cos(y / (7 + 3 * c) + phases[c + 3]!) * Math.sin((x + y) / 23 + phases[c + 6]!);
        else if (kind === 'noise') value = random() * 255;
        else if (kind === 'gradient') value = ((x / Math.max(1, width - 1)) * 200 + (y / Math.max(1, height - 1)) * 55) * (c === 2 ? 0.5 : 1);
        else if (kind === 'white') value = 255;
        data[i + c] = Math.round(value);
      }
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

function jpegJs(p: Picture, quality: number): Buffer {
  return jpeg.encode(p, quality).data;
}

/** libjpeg's encoder, fed a PPM on stdin. */
function cjpeg(p: Picture, args: string[]): Buffer {
  const rgb = Buffer.alloc(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) p.data.copy(rgb, i * 3, i * 4, i * 4 + 3);
  const ppm = Buffer.concat([Buffer.from(`P6\n${p.width} ${p.height}\n255\n`), rgb]);
  return execFileSync('/usr/bin/cjpeg', args, { input: ppm, maxBuffer: 64 * 1024 * 1024 });
}

/** A cjpeg scan script in a file, for `-scans`. */
function writeScript(script: string): string {
  const file = join(tempDir('jpeg'), 'scans.txt');
  writeFileSync(file, script);
  return file;
}

/** The reference: jpeg-js's full decode, and the Rec. 601 mean of its pixels. */
function decoded(bytes: Buffer): { width: number; height: number; meanLuma: number } {
  const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
  let sum = 0;
  for (let i = 0; i < image.data.length; i += 3) sum += 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
  return { width: image.width, height: image.height, meanLuma: sum / (image.width * image.height) };
}

function expectLikeFullDecode(bytes: Buffer): void {
  const fast = scanJpeg(bytes);
  const full = decoded(bytes);
  expect({ width: fast.width, height: fast.height }).toEqual({ width: full.width, height: full.height });
  expect(Math.abs(fast.meanLuma - full.meanLuma)).toBeLessThanOrEqual(1.5);
}

/** Offsets of the first SOS segment and of the EOI that ends its data (the last two bytes here). */
function scanBounds(bytes: Buffer): { sos: number; data: number; eoi: number } {
  const sos = bytes.indexOf(Buffer.from([0xff, 0xda]));
  return { sos, data: sos + 2 + bytes.readUInt16BE(sos + 2), eoi: bytes.length - 2 };
}

function segment(marker: number, body: string): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xff00 | marker, 0);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, Buffer.from(body, 'latin1')]);
}

/** The same JPEG with a metadata segment right after SOI. */
function withSegment(bytes: Buffer, extra: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, 2), extra, bytes.subarray(2)]);
}

const SIZES: [number, number][] = [[160, 120], [640, 480], [17, 9], [1, 1], [100, 37], [333, 250]];
const KINDS: Kind[] = ['blobs', 'noise', 'gradient', 'black', 'white'];

describe('fast JPEG scan against the full jpeg-js decode', () => {
  for (const kind of KINDS) {
    for (const [width, height] of SIZES) {
      it(`${kind} ${width}x${height}, jpeg-js quality 50 and 90`, () => {
        const p = picture(kind, width, height, width + height);
        expectLikeFullDecode(jpegJs(p, 50));
        expectLikeFullDecode(jpegJs(p, 90));
      });
    }
  }

  it('gives black as 0 and white as 255, near enough', () => {
    expect(scanJpeg(jpegJs(picture('black', 64, 64), 85)).meanLuma).toBeLessThan(1);
    expect(scanJpeg(jpegJs(picture('white', 64, 64), 85)).meanLuma).toBeGreaterThan(254);
  });

  it('inspectJpeg takes the fast path for a baseline frame', async () => {
    const bytes = jpegJs(picture('blobs', 160, 120), 85);
    expect(await inspectJpeg(bytes)).toEqual(scanJpeg(bytes));
  });
});

describe('fast JPEG scan: the hash', () => {
  const original = jpegJs(picture('blobs', 160, 120, 3), 85);

  it('is the same for the same picture whatever its APPn and COM segments', () => {
    const hash = scanJpeg(original).hash;
    expect(scanJpeg(Buffer.from(original)).hash).toBe(hash);
    expect(scanJpeg(withSegment(original, segment(0xfe, 'taken 2024-05-01 12:00:00'))).hash).toBe(hash);
    expect(scanJpeg(withSegment(original, segment(0xe1, 'Exif\0\0 DateTime 2024:05:01 12:00:01'))).hash).toBe(hash);
    expect(scanJpeg(withSegment(original, segment(0xed, 'Photoshop 3.0\0'))).hash).toBe(hash);
  });

  it('changes when one small region of the picture changes', () => {
    const p = picture('blobs', 160, 120, 3);
    for (let y = 50; y < 54; y++) for (let x = 70; x < 74; x++) p.data.fill(255, (y * 160 + x) * 4, (y * 160 + x) * 4 + 3);
    expect(scanJpeg(jpegJs(p, 85)).hash).not.toBe(scanJpeg(original).hash);
  });

  it('changes with the quantisation tables (same picture, other quality)', () => {
    expect(scanJpeg(jpegJs(picture('blobs', 160, 120, 3), 84)).hash).not.toBe(scanJpeg(original).hash);
  });
});

describe('fast JPEG scan: broken files are CaptureErrors', () => {
  const bytes = jpegJs(picture('blobs', 160, 120, 5), 85);
  const { data, eoi } = scanBounds(bytes);

  it('rejects the file truncated anywhere', () => {
    for (const at of [0, 1, 2, 3, 10, 30, 100, 200, data - 1, data, data + 1, Math.floor((data + eoi) / 2), eoi - 1, eoi, eoi + 1]) {
      expect(() => scanJpeg(bytes.subarray(0, at)), `truncated at ${at}`).toThrow(CaptureError);
      expect(() => scanJpeg(bytes.subarray(0, at)), `truncated at ${at}`).not.toThrow(UnsupportedJpegError);
    }
  });

  it('rejects image data that ends (EOI) before the last block', () => {
    const short = Buffer.concat([bytes.subarray(0, Math.floor((data + eoi) / 2)), Buffer.from([0xff, 0xd9])]);
    expect(() => scanJpeg(short)).toThrow(/ends before its last block/);
  });

  it('rejects an invalid Huffman code', () => {
    // All one bits: the all-ones code is never valid (ITU T.81 C).
    const ones = Buffer.concat([bytes.subarray(0, data), Buffer.alloc(64, Buffer.from([0xff, 0x00])), Buffer.from([0xff, 0xd9])]);
    expect(() => scanJpeg(ones)).toThrow(/invalid Huffman code/);
  });

  it('rejects garbage and a zero-sized frame', async () => {
    expect(() => scanJpeg(Buffer.from('not a jpeg at all'))).toThrow(/does not decode as JPEG/);
    expect(() => scanJpeg(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.from('garbage after SOI')]))).toThrow(CaptureError);
    const zeroWide = Buffer.from(bytes);
    zeroWide.writeUInt16BE(0, zeroWide.indexOf(Buffer.from([0xff, 0xc0])) + 7);
    expect(() => scanJpeg(zeroWide)).toThrow(/no pixels/);
    // A header claiming 65535x65535 (4,295 MP) is refused before any scanning, as jpeg-js would.
    const huge = Buffer.from(bytes);
    const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
    huge.writeUInt16BE(65535, sof + 5);
    huge.writeUInt16BE(65535, sof + 7);
    expect(() => scanJpeg(huge)).toThrow(/65535x65535 is larger than a camera frame can be \(40 MP\)/);
    await expect(inspectJpeg(Buffer.from('not a jpeg at all'))).rejects.toThrow(CaptureError);
  });
});

describeWithPeers("fast JPEG scan of libjpeg's encodings", [peers.cjpeg()], () => {
  const VARIANTS: [string, string[]][] = [
    ['4:2:0', ['-sample', '2x2']],
    ['4:2:2', ['-sample', '2x1']],
    ['4:4:4', ['-sample', '1x1']],
    ['greyscale', ['-grayscale']],
    ['optimised Huffman tables', ['-optimize']],
    ['a restart every MCU', ['-restart', '1B']],
    ['a restart every 3 MCUs', ['-restart', '3B']],
    ['greyscale, a restart every 5 blocks', ['-grayscale', '-restart', '5B']],
    ['a restart every MCU row', ['-restart', '1']],
  ];

  for (const [name, args] of VARIANTS) {
    it(`${name}, several sizes and pictures, quality 50 and 90`, () => {
      for (const [width, height] of SIZES) {
        for (const kind of ['blobs', 'noise', 'gradient'] as const) {
          const p = picture(kind, width, height, width * height);
          expectLikeFullDecode(cjpeg(p, ['-quality', '50', ...args]));
          expectLikeFullDecode(cjpeg(p, ['-quality', '90', ...args]));
        }
      }
    });
  }

  it('accepts an RSTn after the last restart interval, as some encoders write it', () => {
    const bytes = cjpeg(picture('blobs', 160, 120), ['-restart', '1B']);
    const { eoi } = scanBounds(bytes);
    let last = eoi - 2;
    while (!(bytes[last] === 0xff && bytes[last + 1]! >= 0xd0 && bytes[last + 1]! <= 0xd7)) last--;
    const next = 0xd0 + ((bytes[last + 1]! - 0xd0 + 1) % 8);
    const trailing = Buffer.concat([bytes.subarray(0, eoi), Buffer.from([0xff, next]), bytes.subarray(eoi)]);
    expectLikeFullDecode(trailing);
  });

  it('rejects restart-interval and greyscale files truncated or with a restart marker missing', () => {
    for (const args of [['-restart', '2B'], ['-grayscale', '-restart', '1']]) {
      const bytes = cjpeg(picture('blobs', 160, 120), args);
      const { data, eoi } = scanBounds(bytes);
      for (const at of [data + 5, Math.floor((data + eoi) / 2), eoi - 1]) expect(() => scanJpeg(bytes.subarray(0, at))).toThrow(CaptureError);
      const rst = bytes.indexOf(Buffer.from([0xff, 0xd1]), data);
      const renumbered = Buffer.from(bytes);
      renumbered[rst + 1] = 0xd2;
      expect(() => scanJpeg(renumbered)).toThrow(/restart marker RST1 missing/);
    }
  });

  it('hands progressive and multi-scan files to jpeg-js, which measures them through inspectJpeg', async () => {
    const p = picture('blobs', 333, 250, 9);
    const scans = '0; 1; 2;'; // baseline, one component per scan
    for (const bytes of [cjpeg(p, ['-progressive']), cjpeg(p, ['-scans', writeScript(scans)])]) {
      expect(() => scanJpeg(bytes)).toThrow(UnsupportedJpegError);
      const frame = await inspectJpeg(bytes);
      const full = decoded(bytes);
      expect(frame).toMatchObject({ width: full.width, height: full.height });
      expect(frame.meanLuma).toBeCloseTo(full.meanLuma, 6);
    }
  });

  it('calls arithmetic coding and RGB colour unsupported rather than broken', () => {
    const p = picture('blobs', 64, 48);
    expect(() => scanJpeg(cjpeg(p, ['-arithmetic']))).toThrow(UnsupportedJpegError);
    expect(() => scanJpeg(cjpeg(p, ['-rgb']))).toThrow(UnsupportedJpegError);
  });
});

describeWithPeers("fast JPEG scan of fswebcam's frames", [peers.fswebcam()], () => {
  function fswebcam(args: string[]): Buffer {
    return execFileSync(FSWEBCAM_BIN!, ['--quiet', '--no-banner', ...args, '--jpeg', '85', '-'], { maxBuffer: 64 * 1024 * 1024 });
  }

  it('measures the TEST pattern like the full decode, at several resolutions', () => {
    for (const size of ['384x288', '640x480', '1280x720', '330x250']) {
      const bytes = fswebcam(['-d', 'TEST', '-r', size]);
      expectLikeFullDecode(bytes);
      expect(scanJpeg(bytes)).toMatchObject({ width: Number(size.split('x')[0]), height: Number(size.split('x')[1]) });
    }
  });
});
