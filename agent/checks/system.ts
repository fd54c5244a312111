import type { SystemStats } from '../../drivers/index.js';
import type { CheckResult } from './machine.js';
import type { Check } from './runner.js';

export interface SystemLimits {
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
}

/** degraded when any measure is over its limit. Pure. Temperature is only data here: the `temperature` check judges it. */
export function assessSystem(stats: SystemStats, limits: SystemLimits): CheckResult {
  // The detail names what is over its limit and stays the same while it is; the numbers are in data.
  const over: string[] = [];
  if (stats.cpuPercent > limits.cpuPercent) over.push(`cpu over ${limits.cpuPercent} %`);
  if (stats.memoryPercent > limits.memoryPercent) over.push(`memory over ${limits.memoryPercent} %`);
  if (stats.diskPercent > limits.diskPercent) over.push(`disk (data directory) over ${limits.diskPercent} %`);
  const data = { ...stats };
  if (over.length) return { status: 'degraded', detail: over.join('; '), data };
  return { status: 'up', detail: 'cpu, memory and disk within limits', data };
}

export class SystemCheck implements Check {
  readonly name = 'system' as const;

  constructor(private readonly read: () => Promise<SystemStats>, private readonly limits: SystemLimits) {}

  async run(): Promise<CheckResult> {
    try {
      return assessSystem(await this.read(), this.limits);
    } catch (error) {
      return { status: 'degraded', detail: `cannot read system statistics: ${(error as Error).message}` };
    }
  }
}
