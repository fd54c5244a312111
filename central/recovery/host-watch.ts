import { SystemStatsReader } from '../../drivers/system.js';
import { assessDisks, readDisks, readTemperature, type DiskReadings } from '../../drivers/hardware.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { withTimeout } from '../../lib/timeout.js';
import type { IncidentSink } from '../incidents/types.js';
import type { HostWatchConfig } from './config.js';

export interface HostSample {
  cpuPercent: number;
  memoryPercent: number;
  /** Used percent per mount point. */
  disks: Array<{ mount: string; usedPercent: number }>;
  /** CPU temperature (°C); null without a sensor. */
  temperatureC: number | null;
  /** smartctl's verdicts and eMMC/SD wear. */
  diskHealth: DiskReadings;
}

export interface HostFinding {
  key: string;
  over: boolean;
  detail: string;
}

/** How many samples in a row each key has been over its limit. */
export type OverCounts = Record<string, number>;

/**
 * Pure: which host resources are over their limit. CPU must stay over for `sustainedSamples`
 * samples (spikes are normal); memory and disk count at once.
 */
export function evaluateHost(sample: HostSample, config: HostWatchConfig, previous: OverCounts, keyPrefix = 'central:host'): { counts: OverCounts; findings: HostFinding[] } {
  const measures = [
    { key: `${keyPrefix}:cpu`, value: sample.cpuPercent, limit: config.cpuPercent, what: 'CPU load', needed: config.sustainedSamples },
    { key: `${keyPrefix}:memory`, value: sample.memoryPercent, limit: config.memoryPercent, what: 'memory use', needed: 1 },
    ...sample.disks.map((d) => ({ key: `${keyPrefix}:disk:${d.mount}`, value: d.usedPercent, limit: config.diskPercent, what: `disk ${d.mount} use`, needed: 1 })),
  ];
  const counts: OverCounts = {};
  const findings = measures.map((m) => {
    counts[m.key] = m.value > m.limit ? (previous[m.key] ?? 0) + 1 : 0;
    const over = counts[m.key]! >= m.needed;
    return { key: m.key, over, detail: `${m.what} ${m.value.toFixed(1)}% (limit ${m.limit}%)` };
  });
  if (sample.temperatureC !== null) {
    const key = `${keyPrefix}:temperature`;
    counts[key] = sample.temperatureC > config.temperatureC ? (previous[key] ?? 0) + 1 : 0;
    findings.push({ key, over: counts[key]! >= config.sustainedSamples, detail: `temperature ${sample.temperatureC.toFixed(1)} °C (limit ${config.temperatureC} °C)` });
  }
  // The box's rule: failing or wearing out; not knowing (no smartctl, no eMMC) is no finding.
  const disk = assessDisks(sample.diskHealth, { wearPercent: config.wearPercent });
  if (disk.status !== 'unknown') findings.push({ key: `${keyPrefix}:disk-health`, over: disk.status !== 'up', detail: `disk health: ${disk.detail}` });
  return { counts, findings };
}

/**
 * Samples central's host: CPU from os.cpus(), memory, and the disk holding `dataDir` (the agent's
 * reader: systeminformation's CPU and disk calls run execSync pipelines that block the event loop).
 */
export function hostSampler(dataDir: string, hardware: Pick<HostWatchConfig, 'sysfsRoot' | 'smartctl'>): () => Promise<HostSample> {
  const reader = new SystemStatsReader(dataDir);
  return async () => {
    const [stats, temperatureC, diskHealth] = await withTimeout(
      Promise.all([reader.read(), readTemperature(hardware.sysfsRoot), readDisks({ sysfsRoot: hardware.sysfsRoot, smart: { smartctl: [hardware.smartctl] }, timeoutMs: 10_000 })]),
      15_000,
      'host metrics',
    );
    return { cpuPercent: stats.cpuPercent, memoryPercent: stats.memoryPercent, disks: [{ mount: dataDir, usedPercent: stats.diskPercent }], temperatureC, diskHealth };
  };
}

/** Central watching its own host (CPU, memory, disk > 80 %, temperature, disk health), as the runbook's monitoring script does. */
export class HostWatch {
  private counts: OverCounts = {};
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(
    private readonly options: {
      config: HostWatchConfig;
      incidents: IncidentSink;
      log?: Logger;
      sample: () => Promise<HostSample>;
      /** Incident key prefix; replicas each watch their own host (default `central:host`). */
      keyPrefix?: string;
    },
  ) {
    this.log = options.log ?? silentLogger();
  }

  start(): void {
    if (!this.options.config.enabled || this.timer) return;
    this.schedule(0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Samples once and raises/clears incidents; the timer calls it, tests may too. */
  async check(): Promise<HostFinding[]> {
    const sample = await this.options.sample();
    const { counts, findings } = evaluateHost(sample, this.options.config, this.counts, this.options.keyPrefix);
    this.counts = counts;
    for (const finding of findings) {
      if (finding.over) {
        this.options.incidents.raise({ key: finding.key, title: 'Central host resources', severity: 'major', detail: `central host ${finding.detail}` });
      } else {
        this.options.incidents.clear(finding.key, `central host ${finding.detail}`);
      }
    }
    return findings;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.check()
        .catch((error: unknown) => this.log.warn({ err: error }, 'host watch sample failed'))
        .finally(() => {
          if (this.timer) this.schedule(this.options.config.every);
        });
    }, delayMs);
  }
}
