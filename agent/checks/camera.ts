import { performance } from 'node:perf_hooks';
import { CaptureError, inspectJpeg, type Camera } from '../../drivers/index.js';
import { TimeoutError } from '../../lib/timeout.js';
import type { CheckResult } from './machine.js';
import type { Check } from './runner.js';

export interface CameraCheckOptions {
  timeoutMs: number;
  /** Mean luma (0-255) under which a frame is black. */
  blackLuma: number;
  /** Identical frames in a row that mean the picture is frozen. */
  frozenAfter: number;
}

/**
 * Captures one frame, decodes it and looks at it: black (covered, dead sensor) and frozen (the
 * same pixels several times running: a hung camera or a cached snapshot) are down.
 */
export class CameraCheck implements Check {
  readonly name = 'camera' as const;
  private recent: string[] = [];

  constructor(private readonly camera: Camera, private readonly options: CameraCheckOptions) {}

  async run(): Promise<CheckResult> {
    const started = performance.now();
    let frame;
    try {
      frame = await inspectJpeg(await this.camera.capture(this.options.timeoutMs));
    } catch (error) {
      // Capture and decode errors are worded for the staff; anything else is a fault inside us, not words for them.
      const detail = error instanceof CaptureError || error instanceof TimeoutError ? error.message : `the frame from ${this.camera.address} could not be read (corrupt image)`;
      return { status: 'down', detail, data: { latencyMs: Math.round(performance.now() - started) } };
    }
    const latencyMs = Math.round(performance.now() - started);
    this.recent = [...this.recent, frame.hash].slice(-this.options.frozenAfter);
    const data = { latencyMs, width: frame.width, height: frame.height, meanLuma: Math.round(frame.meanLuma * 10) / 10 };
    const where = this.camera.address;
    if (frame.meanLuma < this.options.blackLuma) {
      return { status: 'down', detail: `black frame from ${where} (mean luma under ${this.options.blackLuma}): lens covered or sensor dead?`, data };
    }
    if (this.recent.length >= this.options.frozenAfter && this.recent.every((hash) => hash === frame.hash)) {
      return { status: 'down', detail: `frozen picture from ${where}: the last ${this.options.frozenAfter} frames are identical`, data };
    }
    return { status: 'up', detail: `${frame.width}x${frame.height} frames from ${where}`, data };
  }
}
