import { createHash } from 'node:crypto';
import NodeWebcam, { type FSWebcam } from 'node-webcam';
import { runCommand } from '../lib/command.js';
import { httpRequest } from '../lib/http-client.js';
import { redactSecrets } from '../lib/redact.js';
import { TimeoutError } from '../lib/timeout.js';
import { CaptureError, UnsupportedJpegError, type FrameInfo } from './frame.js';
import { MAX_PIXELS, scanJpeg } from './jpeg.js';
import { AGENT_HEADERS } from './network.js';
import type { Camera } from './types.js';

const MAX_FRAME_BYTES = 20 * 1024 * 1024;

function lastLine(text: string): string {
  // fswebcam colours its messages with ANSI escapes.
  const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? '';
}

/**
 * The fswebcam command line node-webcam would run for these options, as an argv array. node-webcam
 * builds it as one shell string and runs it with child_process.exec: a device path with a space or a
 * `;` would be split or run by the shell, there is no timeout, and stdout is decoded as text, which
 * breaks a JPEG. So node-webcam keeps the camera's options (its defaults, resolution, skipped frames,
 * controls), reads fswebcam's messages and hands back the shot; only the run is ours: this argv,
 * through lib/command.ts (no shell, SIGKILL at the timeout, stdout kept as bytes).
 */
export function fswebcamArgv(webcam: FSWebcam): string[] {
  const o = webcam.opts;
  const controls = Object.entries(o.setValues).flatMap(([name, value]) => (value ? ['-s', `${name}=${value}`] : []));
  const banner = o.topBanner ? '--top-banner' : o.bottomBanner ? '--bottom-banner' : '--no-banner';
  return [
    webcam.bin,
    ...(o.verbose ? [] : ['--quiet']),
    ...(o.device ? ['-d', o.device] : []),
    ...(o.width && o.height ? ['-r', `${o.width}x${o.height}`] : []),
    ...(o.frames ? ['-F', String(o.frames)] : []),
    ...(o.delay ? ['-D', String(o.delay)] : []),
    ...(o.skip ? ['--skip', String(o.skip)] : []),
    ...(o.greyscale ? ['--greyscale'] : []),
    ...(o.rotation ? ['--rotate', String(o.rotation)] : []),
    banner,
    ...controls,
    `--${o.output}`,
    String(o.quality),
    '-',
  ];
}

/** Sources fswebcam treats as a capture device: a video device, and its `TEST` pattern that stands in for one. */
function isCaptureDevice(address: string): boolean {
  return address.startsWith('/dev/') || address === 'TEST';
}

/**
 * A USB camera (`/dev/videoN`) or an fswebcam source (`file:/x.jpg`, `TEST`), driven by node-webcam
 * (see fswebcamArgv for what it does and what we run ourselves). fswebcam exits 0 even when it
 * captured nothing, so only a non-empty JPEG on stdout counts as a frame.
 */
export class FswebcamCamera implements Camera {
  constructor(
    readonly address: string,
    private readonly options: { resolution: string; skipFrames: number; binary?: string },
  ) {}

  /** node-webcam's camera for one capture: a device gets the configured size and skips its first frames; a file is taken as it is. */
  private webcam(): FSWebcam {
    const [width, height] = this.options.resolution.split('x').map(Number);
    const device = isCaptureDevice(this.address);
    const webcam = new NodeWebcam.FSWebcam({
      device: this.address,
      ...(device ? { width: width!, height: height!, skip: this.options.skipFrames } : { width: 0, height: 0 }),
      output: 'jpeg',
      quality: 85,
      callbackReturn: 'buffer',
      saveShots: false,
      verbose: false,
    });
    if (this.options.binary) webcam.bin = this.options.binary;
    return webcam;
  }

  async capture(timeoutMs: number): Promise<Buffer> {
    const webcam = this.webcam();
    const binary = webcam.bin;
    const result = await runCommand({ argv: fswebcamArgv(webcam), timeoutMs }, { stdoutMaxBytes: MAX_FRAME_BYTES });
    const said = lastLine(result.output);
    const saying = said ? `: ${said}` : '';
    if (result.timedOut) throw new TimeoutError(`fswebcam to capture a frame from ${this.address}`, timeoutMs);
    if (result.errorCode === 'ENOENT') throw new CaptureError(`${binary} is not installed (apt-get install fswebcam)`);
    if (result.error) throw new CaptureError(`${binary} could not start: ${result.error}`);
    if (result.stdoutOverflow) throw new CaptureError(`fswebcam sent more than ${MAX_FRAME_BYTES} bytes from ${this.address}`);
    if (result.exitCode !== 0) throw new CaptureError(`fswebcam exited with ${String(result.exitCode ?? result.signal)} on ${this.address}${saying}`);
    if (!result.stdout?.length) {
      // node-webcam reads fswebcam's messages for "no such file or device".
      const refused = webcam.runCaptureValidations(result.output);
      throw new CaptureError(`fswebcam captured nothing from ${this.address}${refused ? ` (${refused.message})` : ''}${saying}`);
    }
    const shot = webcam.createShot(null, result.stdout);
    return new Promise((resolve, reject) =>
      webcam.getShotBuffer(shot, (error, data) => (error || !data ? reject(new CaptureError(`no frame from ${this.address}: ${error?.message ?? 'empty shot'}`)) : resolve(data))),
    );
  }
}

/** An IP camera's snapshot URL (one JPEG per GET). */
export class HttpSnapshotCamera implements Camera {
  readonly address: string;

  constructor(private readonly url: string) {
    this.address = redactSecrets(url);
  }

  async capture(timeoutMs: number): Promise<Buffer> {
    const response = await httpRequest({ url: this.url, headers: AGENT_HEADERS, timeoutMs, maxBytes: MAX_FRAME_BYTES, what: `a snapshot from ${this.address}` });
    if (response.status !== 200) throw new CaptureError(`${this.address} answered HTTP ${response.status}`);
    if (response.truncated) throw new CaptureError(`${this.address} sent a snapshot larger than ${MAX_FRAME_BYTES} bytes`);
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

/**
 * What staff read when the full decoder refuses a frame: its messages ("Could not recreate
 * Huffman Table", or a TypeError from inside jpeg-js) are internals; only "too large" is news.
 */
function decoderComplaint(error: unknown): string {
  const said = typeof error === 'string' ? error : error instanceof Error ? error.message : '';
  if (/maxResolutionInMP|maxMemoryUsageInMB/.test(said)) return `it is larger than ${MAX_PIXELS / 1e6} megapixels`;
  return 'its data is corrupt';
}

/** The full decode, the fallback (and the bench's yardstick); its hash is over the decoded pixels. */
export async function decodeJpeg(bytes: Buffer): Promise<FrameInfo> {
  jpegModule ??= import('jpeg-js');
  const jpeg = await jpegModule;
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
  } catch (error) {
    throw new CaptureError(`the image does not decode as JPEG (${decoderComplaint(error)})`);
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
