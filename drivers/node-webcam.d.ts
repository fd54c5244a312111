// The part of node-webcam (CommonJS, no types of its own) that drivers/camera.ts uses.
declare module 'node-webcam' {
  export interface FSWebcamOptions {
    width?: number;
    height?: number;
    quality?: number;
    frames?: number | false;
    delay?: number;
    skip?: number | false;
    device?: string | false;
    output?: 'jpeg' | 'png' | 'bmp';
    greyscale?: boolean;
    rotation?: number | false;
    topBanner?: boolean;
    bottomBanner?: boolean;
    setValues?: Record<string, string | number>;
    saveShots?: boolean;
    callbackReturn?: 'location' | 'buffer' | 'base64';
    verbose?: boolean;
  }

  export interface Shot {
    location: string | null;
    data: Buffer | null;
  }

  export class FSWebcam {
    constructor(options?: FSWebcamOptions);
    /** The options with node-webcam's defaults filled in. */
    readonly opts: FSWebcamOptions & Required<Pick<FSWebcamOptions, 'width' | 'height' | 'quality' | 'output' | 'setValues'>>;
    /** The program node-webcam runs ("fswebcam"). */
    bin: string;
    /** node-webcam's reading of fswebcam's messages: an Error for "no such file or device". */
    runCaptureValidations(messages: string): Error | null;
    createShot(location: string | null, data: Buffer): Shot;
    getShotBuffer(shot: Shot, callback: (error: Error | null, data?: Buffer) => void): void;
  }

  const NodeWebcam: { FSWebcam: typeof FSWebcam };
  export default NodeWebcam;
}
