/** Why a capture gave no usable image. */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

/**
 * A JPEG the fast scan does not walk (progressive, arithmetic, lossless, 12-bit, several scans,
 * RGB or CMYK colour): not a broken frame, only one for the full decoder to measure.
 */
export class UnsupportedJpegError extends CaptureError {
  constructor(what: string) {
    super(`the fast JPEG scan does not handle ${what}`);
    this.name = 'UnsupportedJpegError';
  }
}

export interface FrameInfo {
  width: number;
  height: number;
  /** Mean luma (Rec. 601), 0 = black, 255 = white. */
  meanLuma: number;
  /** Equal for identical frames, whatever their metadata (EXIF time, comments): a frozen picture repeats it. */
  hash: string;
}
