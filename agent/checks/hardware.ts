import { assessDisks, assessTemperature, type DiskLimits, type DiskReadings, type HardwareAssessment, type TemperatureLimits } from '../../drivers/hardware.js';
import type { CheckResult } from './machine.js';
import type { Check } from './runner.js';

/** A hardware check never throws: a reading that fails is `unknown` with the reason, never down. */
async function judged(read: () => Promise<HardwareAssessment>, what: string): Promise<CheckResult> {
  try {
    return await read();
  } catch (error) {
    return { status: 'unknown', detail: `cannot read ${what}: ${(error as Error).message}` };
  }
}

/** The box's temperature: degraded above `highC`, down above `criticalC`, unknown without a sensor. */
export class TemperatureCheck implements Check {
  readonly name = 'temperature' as const;

  constructor(private readonly read: () => Promise<number | null>, private readonly limits: TemperatureLimits) {}

  run(): Promise<CheckResult> {
    return judged(async () => assessTemperature(await this.read(), this.limits), 'the temperature');
  }
}

/** Disk health: smartctl's verdict and eMMC/SD wear (down: failing; degraded: wearing; unknown: cannot tell). */
export class DiskHealthCheck implements Check {
  readonly name = 'disk' as const;

  constructor(private readonly read: () => Promise<DiskReadings>, private readonly limits: DiskLimits) {}

  run(): Promise<CheckResult> {
    return judged(async () => assessDisks(await this.read(), this.limits), 'disk health');
  }
}
