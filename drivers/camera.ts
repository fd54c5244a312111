import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { TimeoutError } from '../lib/timeout.js';
import { CaptureError, UnsupportedJpegError, type FrameInfo } from './frame.js';
import { httpGet, safeUrl } from './http-get.js';
import { MAX_PIXELS, scanJpeg } from './jpeg.js';
import type { Camera } from './types.js';

const MAX_FRAME_BYTES = 20 * 1024 * 1024;

function lastLine(text: string): string {
  // fswebcam colours its messages with ANSI escapes.
  const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? '';
}

/**
 * A USB camera (`/dev/videoN`) or an fswebcam source (`file:/x.jpg`, `TEST`) through the
 * fswebcam binary, run as an argv array. fswebcam exits 0 even when it captured nothing, so
 * only a non-empty JPEG on stdout counts as a frame.
 */
export class FswebcamCamera implements Camera {
  constructor(
    readonly address: string,
    private readonly options: { resolution: string; skipFrames: number; binary?: string },
  ) {}

  capture(timeoutMs: number): Promise<Buffer> {
    const device = this.address.startsWith('/dev/') ? ['-r', this.options.resolution, '-S', String(this.options.skipFrames)] : [];
    const args = ['--quiet', '--no-banner', '-d', this.address, ...device, '--jpeg', '85', '-'];
    const binary = this.options.binary ?? 'fswebcam';
    return new Promise((resolve, reject) => {
      execFile(binary, args, { encoding: 'buffer', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_FRAME_BYTES }, (error, stdout, stderr) => {
        const said = lastLine(stderr.toString('utf8'));
        if (error) {
          const failure = error as Error & { killed?: boolean; code?: number | string; signal?: string | null };
          if (failure.killed) return reject(new TimeoutError(`fswebcam to capture a frame from ${this.address}`, timeoutMs));
          if (failure.code === 'ENOENT') return reject(new CaptureError(`${binary} is not installed (apt-get install fswebcam)`));
          return reject(new CaptureError(`fswebcam exited with ${String(failure.code ?? failure.signal)} on ${this.address}${said ? `: ${said}` : ''}`));
        }
        if (stdout.length === 0) return reject(new CaptureError(`fswebcam captured nothing from ${this.address}${said ? `: ${said}` : ''}`));
        resolve(stdout);
      });
    });
  }
}

/** An IP camera's snapshot URL (one JPEG per GET). */
export class HttpSnapshotCamera implements Camera {
  readonly address: string;

  constructor(private readonly url: string) {
    this.address = safeUrl(url);
  }

  async capture(timeoutMs: number): Promise<Buffer> {
    const response = await httpGet(this.url, { timeoutMs, readBody: true, maxBytes: MAX_FRAME_BYTES, what: `a snapshot from ${this.address}` });
    if (response.status !== 200) throw new CaptureError(`${this.address} answered HTTP ${response.status}`);
    if (response.body.length === 0) throw new CaptureError(`${this.address} sent an empty snapshot`);
    return response.body;
  }
}

type JpegModule = typeof import('jpeg-js');
let jpegModule: Promise<JpegModule> | undefined;

/**
 * Measures a JPEG strictly (a truncated file is an error, not a grey picture). Baseline frames,
 * what cameras send, are scanned without decoding their pixels (drivers/jpeg.ts); other kinds are
 * fully decoded by jpeg-js, loaded on first need.
 */
export async function inspectJpeg(bytes: Buffer): Promise<FrameInfo> {
  try {
    return scanJpeg(bytes);
  } catch (error) {
    if (!(error instanceof UnsupportedJpegError)) throw error;
  }
  return decodeJpeg(bytes);
}

/** The full decode, the fallback (and the bench's yardstick); its hash is over the decoded pixels. */
export async function decodeJpeg(bytes: Buffer): Promise<FrameInfo> {
  jpegModule ??= import('jpeg-js');
  const jpeg = await jpegModule;
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
  } catch (error) {
    throw new CaptureError(`the image does not decode as JPEG (${(error as Error).message})`);
  }
  if (image.width === 0 || image.height === 0) throw new CaptureError('the image has no pixels');
  const pixels = image.data;
  let sum = 0;
  for (let i = 0; i + 2 < pixels.length; i += 3) sum += 299 * pixels[i]! + 587 * pixels[i + 1]! + 114 * pixels[i + 2]!;
  return {
    width: image.width,
    height: image.height,
    meanLuma: sum / 1000 / (pixels.length / 3),
    hash: createHash('sha1').update(pixels).digest('hex'),
  };
}
