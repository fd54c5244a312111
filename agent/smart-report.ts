import { CommandError, type Command } from '../lib/cli.js';
import { parseDuration } from '../lib/duration.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { readSmart, smartDevices } from '../drivers/hardware.js';
import { SMART_REPORT_PATH, writeSmartReport, type SmartReport } from '../drivers/smart-report.js';

export interface SmartReportOptions {
  sysfsRoot: string;
  /** The argv before `-H <device>`. */
  smartctl: readonly string[];
  /** Per disk: a hung smartctl is killed and its disk is `unknown`. */
  timeoutMs: number;
  clock: Clock;
}

/** Asks each whole disk `smartctl -H`; null when smartctl is not installed. */
export async function makeSmartReport(options: SmartReportOptions): Promise<SmartReport | null> {
  const devices = await smartDevices(options.sysfsRoot);
  const disks = await readSmart(devices, options.smartctl, options.timeoutMs);
  return disks && { at: new Date(options.clock.now()).toISOString(), disks };
}

/**
 * `hotpot smart-report`: run as root by hotpot-smart.service (every 6 h and at boot, through
 * hotpot-smart.timer), it writes the report the agent's disk check reads (drivers/smart-report.ts).
 */
export const smartReportCommand: Command = {
  name: 'smart-report',
  summary: "write each whole disk's smartctl -H verdict for the agent's disk check (root)",
  usage: [
    'usage: hotpot smart-report [--out FILE] [--timeout DURATION] [--smartctl PROGRAM] [--sysfs DIR]',
    '',
    "Runs smartctl -H on each whole disk (SATA/SCSI/USB, NVMe) and writes the verdicts to FILE in one",
    `rename (default ${SMART_REPORT_PATH}); the agent's disk check reads it. Needs root: installed as`,
    'hotpot-smart.service, run by hotpot-smart.timer. A disk whose smartctl outlives --timeout (default',
    '30s) is unknown. Exits 1 when smartctl is not installed (apt install smartmontools).',
  ].join('\n'),
  options: {
    out: { type: 'string', short: 'o' },
    timeout: { type: 'string' },
    smartctl: { type: 'string' },
    sysfs: { type: 'string' },
  },
  async run(values) {
    const out = (values.out as string | undefined) ?? SMART_REPORT_PATH;
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration((values.timeout as string | undefined) ?? '30s');
    } catch {
      throw new CommandError(`--timeout ${String(values.timeout)}: expected a duration such as "30s" or "2m"`, 2);
    }
    if (timeoutMs <= 0) throw new CommandError('--timeout must be more than 0', 2);
    const smartctl = (values.smartctl as string | undefined) ?? 'smartctl';
    const report = await makeSmartReport({ sysfsRoot: (values.sysfs as string | undefined) ?? '/sys', smartctl: [smartctl], timeoutMs, clock: systemClock });
    if (!report) throw new CommandError(`${smartctl} is not installed: apt install smartmontools (nothing written to ${out})`);
    try {
      await writeSmartReport(out, report);
    } catch (error) {
      throw new CommandError(`cannot write ${out}: ${(error as Error).message}`);
    }
    const verdicts = report.disks.map((d) => `${d.device} ${d.verdict}${d.verdict === 'passed' ? '' : ` (${d.detail})`}`);
    process.stdout.write(`wrote ${out}: ${verdicts.join('; ') || 'no SATA or NVMe disk'}\n`);
    return 0;
  },
};
