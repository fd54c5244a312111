import { assessPrinter, type Printer, type PrinterFlags } from '../../drivers/index.js';
import type { CheckData, CheckResult } from './machine.js';
import type { Check } from './runner.js';

/** A printer status as a check result: the reasons in `detail`, the raw flags in `data`. */
export function printerResult(address: string, flags: PrinterFlags): CheckResult {
  const assessment = assessPrinter(flags);
  const data: CheckData = { ...flags };
  const detail = assessment.status === 'up' ? `ready (${address})` : `${assessment.reasons.join('; ')} (${address})`;
  return { status: assessment.status, detail, data };
}

/** Asks the printer for its real status (DLE EOT) every run. */
export class PrinterCheck implements Check {
  readonly name = 'printer' as const;

  constructor(private readonly printer: Printer) {}

  async run(): Promise<CheckResult> {
    try {
      return printerResult(this.printer.address, await this.printer.status());
    } catch (error) {
      return { status: 'down', detail: (error as Error).message };
    }
  }
}
