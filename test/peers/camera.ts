import { createServer, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { withTimeout } from '../../lib/timeout.js';

export const FSWEBCAM_BIN = ['/usr/bin/fswebcam', '/usr/local/bin/fswebcam'].find((p) => existsSync(p));

/**
 * A generated camera frame: `scene` draws a lit picture that differs with `seed` (a live
 * camera never gives the same pixels twice); `black` is a covered lens.
 */
export function makeJpeg(kind: 'scene' | 'black', seed = 0, width = 160, height = 120): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (kind === 'scene') {
        data[i] = (x * 3 + seed * 17) & 0xff;
        data[i + 1] = (y * 2 + seed * 29) & 0xff;
        data[i + 2] = 96 + ((x + y + seed) % 64);
      }
      data[i + 3] = 255;
    }
  }
  return jpeg.encode({ data, width, height }, 85).data;
}

/** Frames on disk for fswebcam's `file:` source. */
export class FrameFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'hotpot-camera-'));

  /** Writes a frame and returns its fswebcam source, `file:/...jpg`. */
  write(name: string, bytes: Buffer): string {
    const path = join(this.dir, `${name}.jpg`);
    writeFileSync(path, bytes);
    return `file:${path}`;
  }
}

export type SnapshotBehaviour = 'live' | 'frozen' | 'error' | 'hang' | 'black' | 'garbage';

/** An IP camera's snapshot endpoint on a free loopback port. */
export class SnapshotServer {
  behaviour: SnapshotBehaviour = 'live';
  requests = 0;
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  constructor(private readonly size = { width: 160, height: 120 }) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/snapshot.jpg`;
  }

  async start(): Promise<this> {
    const server = createServer((_req, res) => {
      this.requests++;
      switch (this.behaviour) {
        case 'hang':
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          return;
        case 'error':
          res.writeHead(500, { 'content-type': 'text/plain' }).end('camera firmware error');
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'image/jpeg' }).end(Buffer.from('not a jpeg at all'));
          return;
        default: {
          const { width, height } = this.size;
          const frame = makeJpeg(this.behaviour === 'black' ? 'black' : 'scene', this.behaviour === 'frozen' ? 0 : this.requests, width, height);
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': frame.length }).end(frame);
        }
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'the snapshot server to stop');
  }
}
