import type { Logger } from '../lib/log.js';
import { assessPrinter, type Printer } from '../drivers/index.js';

export type DrawerResult = { opened: true } | { opened: false; problem: string };

/**
 * The cash drawer on the receipt printer's drawer port: a pulse (ESC p) opens it. Every opening is
 * logged with why (a cash order, or a manager by hand), so the till can be audited.
 */
export class CashDrawer {
  constructor(
    private readonly printer: Printer,
    private readonly options: { pin: 2 | 5; pulseMs: number; log: Logger },
  ) {}

  /** Never throws: a drawer that did not open is a result the caller words. */
  async open(why: { reason: 'cash order'; order: string } | { reason: 'by hand'; client: string }): Promise<DrawerResult> {
    const { log } = this.options;
    try {
      const after = assessPrinter(await this.printer.kickDrawer(this.options.pin, this.options.pulseMs));
      if (after.status === 'down') {
        // A stopped printer ignores ESC p: the drawer stayed shut.
        const problem = after.reasons.join('; ');
        log.warn({ ...why, problem }, 'cash drawer did not open');
        return { opened: false, problem };
      }
      log.info(why, 'cash drawer opened');
      return { opened: true };
    } catch (error) {
      const problem = (error as Error).message;
      log.warn({ ...why, problem }, 'cash drawer did not open');
      return { opened: false, problem };
    }
  }
}
