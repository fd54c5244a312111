import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeFailure, runCommand, succeeded } from '../../lib/command.js';

const MOUNT_BIN = ['/usr/bin/mount', '/bin/mount'].find((bin) => existsSync(bin));
const UMOUNT_BIN = ['/usr/bin/umount', '/bin/umount'].find((bin) => existsSync(bin));

/** Mounting a size-limited tmpfs needs root and mount(8). */
export const CAN_MOUNT_TMPFS = Boolean(MOUNT_BIN && UMOUNT_BIN) && process.getuid?.() === 0;

/** The file that fills a small filesystem; deleting it frees the space. */
const FILLER = '.filler';

/** A size-limited tmpfs at `dir` (a small "data disk" a test can fill). */
export class SmallDisk {
  private mounted = false;

  constructor(readonly dir: string, private readonly size = '2m') {}

  async mount(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const spec = { argv: [MOUNT_BIN!, '-t', 'tmpfs', '-o', `size=${this.size}`, 'tmpfs', this.dir], timeoutMs: 10_000 };
    const result = await runCommand(spec);
    if (!succeeded(result)) throw new Error(describeFailure(spec, result));
    this.mounted = true;
  }

  /** Writes zeros until the filesystem answers ENOSPC: then nothing more fits. Returns the bytes written. */
  fill(): number {
    const fd = openSync(join(this.dir, FILLER), 'a');
    let written = 0;
    try {
      for (const size of [64 * 1024, 4096, 512]) {
        const chunk = Buffer.alloc(size);
        for (;;) {
          try {
            written += writeSync(fd, chunk);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw error;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return written;
  }

  /** Deletes the filler: the space is back. */
  free(): void {
    rmSync(join(this.dir, FILLER), { force: true });
  }

  async unmount(): Promise<void> {
    if (!this.mounted) return;
    const spec = { argv: [UMOUNT_BIN!, '-l', this.dir], timeoutMs: 10_000 };
    const result = await runCommand(spec);
    if (!succeeded(result)) throw new Error(describeFailure(spec, result));
    this.mounted = false;
  }
}
