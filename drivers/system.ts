import { cpus } from 'node:os';
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sleep } from '../lib/timeout.js';
import type { SystemStats } from './types.js';
import { readTemperature, round1 } from './hardware.js';

const MIN_CPU_WINDOW_MS = 1000;

/**
 * Only systeminformation's memory module: its index loads all ~40 of its modules (~1 MB of
 * source, compiled and kept), and the box's agent reads nothing else from it.
 */
const SI_MEMORY_MODULE = 'systeminformation/lib/memory.js';
type SystemInformationMemory = Pick<typeof import('systeminformation'), 'mem'>;
let si: Promise<SystemInformationMemory> | undefined;

/** statfs of the path, or of its nearest existing parent (the data directory may not exist yet). */
async function filesystemOf(path: string): Promise<Awaited<ReturnType<typeof statfs>>> {
  let current = resolve(path);
  for (;;) {
    try {
      return await statfs(current);
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, irq, idle } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + irq + idle;
  }
  return { busy, total };
}

/**
 * The box's vital signs. Memory comes from systeminformation; CPU load and temperature are read
 * here from os.cpus() and /sys, because systeminformation reads both through execSync shell
 * pipelines that block the event loop (hundreds of ms on a loaded box, enough to make other
 * checks time out). Disk is statfs on the data directory itself, so the right filesystem is
 * measured without parsing `df`.
 */
export class SystemStatsReader {
  private last = cpuTimes();
  private lastAt = performance.now();

  constructor(private readonly dataDir: string) {}

  async read(): Promise<SystemStats> {
    // An internal path of the package: should a release move it, the whole package still works.
    si ??= (import(SI_MEMORY_MODULE) as Promise<SystemInformationMemory>).catch(() => import('systeminformation'));
    const { mem } = await si;
    // CPU load needs a window; a first read right after start (hotpot doctor) waits for one.
    const window = MIN_CPU_WINDOW_MS - (performance.now() - this.lastAt);
    const [memory, temperatureC, fs] = await Promise.all([mem(), readTemperature(), filesystemOf(this.dataDir), window > 0 ? sleep(window) : undefined]);
    const now = cpuTimes();
    this.lastAt = performance.now();
    const total = now.total - this.last.total;
    // CPU busy share since the previous read (the check's interval).
    const cpuPercent = total > 0 ? ((now.busy - this.last.busy) / total) * 100 : 0;
    this.last = now;
    const blocks = Number(fs.blocks);
    // Blocks reserved for root count as used: the agent does not run as root.
    const diskPercent = blocks > 0 ? ((blocks - Number(fs.bavail)) / blocks) * 100 : 0;
    return {
      cpuPercent: round1(cpuPercent),
      memoryPercent: round1(memory.total > 0 ? ((memory.total - memory.available) / memory.total) * 100 : 0),
      diskPercent: round1(diskPercent),
      temperatureC,
    };
  }
}
