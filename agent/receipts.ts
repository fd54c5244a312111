import type { Logger } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { OrderItem, OrderRecord, VoidRecord } from '../sync/schemas.js';
import { formatMinor } from '../sync/day-summary.js';
import { assessPrinter, type Printer, type ReceiptBlock } from '../drivers/index.js';
import type { Receipts } from './agent.js';
import type { OrderStore, StoredOrder } from './store.js';
import type { Language } from './config.js';

/** 1250 tetri → "12.50" (en) or "12,50" (ru, ka): money stays an integer until this point. */
export function formatAmount(minor: number, language: Language): string {
  const text = formatMinor(minor);
  return language === 'en' ? text : text.replace('.', ',');
}

/** The amount with its currency as paper shows it: ₾ where the line is drawn anyway (Georgian), else the code. */
export function formatMoney(minor: number, currency: string, language: Language = 'en'): string {
  return `${formatAmount(minor, language)} ${currency === 'GEL' && language === 'ka' ? '₾' : currency}`;
}

/** Local wall-clock time where the point is (config.timeZone), as staff read it: 2025-03-01 14:05. */
function formatTime(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

/** What paper says, in the point's language (`receipt.language`). */
const PAPER = {
  en: { point: 'Point', order: 'Order', reprint: 'REPRINT', each: 'each', total: 'TOTAL', payment: 'Payment', cash: 'cash', card: 'card', note: 'Note', offline: 'OFFLINE ORDER — will sync', kitchen: 'KITCHEN', void: 'VOID', reason: 'Reason', approvedBy: 'Approved by', staff: 'staff', manager: 'manager' },
  ru: { point: 'Точка', order: 'Заказ', reprint: 'ПОВТОРНАЯ ПЕЧАТЬ', each: 'за шт.', total: 'ИТОГО', payment: 'Оплата', cash: 'наличные', card: 'карта', note: 'Комментарий', offline: 'ОФЛАЙН-ЗАКАЗ — будет синхронизирован', kitchen: 'КУХНЯ', void: 'ОТМЕНА ЗАКАЗА', reason: 'Причина', approvedBy: 'Одобрил', staff: 'кассир', manager: 'менеджер' },
  ka: { point: 'ფილიალი', order: 'შეკვეთა', reprint: 'ხელახლა ბეჭდვა', each: '/ ცალი', total: 'სულ', payment: 'გადახდა', cash: 'ნაღდი', card: 'ბარათი', note: 'შენიშვნა', offline: 'ოფლაინ შეკვეთა — სინქრონიზდება', kitchen: 'სამზარეულო', void: 'შეკვეთა გაუქმდა', reason: 'მიზეზი', approvedBy: 'დაადასტურა', staff: 'პერსონალი', manager: 'მენეჯერი' },
} as const satisfies Record<Language, Record<string, string>>;

export const OFFLINE_LINE = PAPER.en.offline;

/** A line's name in `language`: from the names the order kept, else the name it was sold under. */
export function itemName(item: OrderItem, language: Language): string {
  return item.names?.[language] ?? item.name;
}

export interface PaperOptions {
  reprint: boolean;
  timeZone: string;
  language: Language;
}

/** What a receipt says. Pure. */
export function receiptBlocks(order: OrderRecord, options: PaperOptions): ReceiptBlock[] {
  const words = PAPER[options.language];
  const money = (minor: number) => formatMoney(minor, order.currency, options.language);
  const blocks: ReceiptBlock[] = [
    { kind: 'text', text: 'The Hot Pot Spot', align: 'center', bold: true },
    { kind: 'text', text: `${words.point} ${order.pointId}`, align: 'center' },
    { kind: 'text', text: `${words.order} ${order.number}`, align: 'center', bold: true, large: true },
    { kind: 'text', text: formatTime(order.createdAt, options.timeZone), align: 'center' },
  ];
  if (options.reprint) blocks.push({ kind: 'text', text: words.reprint, align: 'center', bold: true });
  blocks.push({ kind: 'rule' });
  for (const item of order.items) {
    blocks.push({ kind: 'pair', left: `${item.qty} x ${itemName(item, options.language)}`, right: money(item.lineTotal) });
    if (item.qty > 1) blocks.push({ kind: 'text', text: `    ${money(item.unitPrice)} ${words.each}` });
  }
  blocks.push({ kind: 'rule' }, { kind: 'pair', left: words.total, right: money(order.total), bold: true }, { kind: 'text', text: `${words.payment}: ${words[order.payment]}` });
  if (order.note) blocks.push({ kind: 'text', text: `${words.note}: ${order.note}` });
  if (order.mode === 'offline') blocks.push({ kind: 'text', text: words.offline, align: 'center', bold: true });
  blocks.push({ kind: 'qr', data: order.id }, { kind: 'text', text: order.id, align: 'center' });
  return blocks;
}

/** What a kitchen ticket says: the number, the time, and each line large, with no prices. Pure. */
export function kitchenTicketBlocks(order: OrderRecord, options: PaperOptions): ReceiptBlock[] {
  const words = PAPER[options.language];
  const blocks: ReceiptBlock[] = [
    { kind: 'text', text: words.kitchen, align: 'center', bold: true },
    { kind: 'text', text: `${words.order} ${order.number}`, align: 'center', bold: true, large: true },
    { kind: 'text', text: formatTime(order.createdAt, options.timeZone), align: 'center' },
  ];
  if (options.reprint) blocks.push({ kind: 'text', text: words.reprint, align: 'center', bold: true });
  blocks.push({ kind: 'rule' });
  for (const item of order.items) blocks.push({ kind: 'text', text: `${item.qty} x ${itemName(item, options.language)}`, bold: true, large: true });
  if (order.note) blocks.push({ kind: 'rule' }, { kind: 'text', text: `${words.note}: ${order.note}`, bold: true });
  return blocks;
}

/** The void slip: which order, its total, when, why and who approved. Pure. */
export function voidSlipBlocks(order: OrderRecord, voided: VoidRecord, options: PaperOptions): ReceiptBlock[] {
  const words = PAPER[options.language];
  return [
    { kind: 'text', text: words.void, align: 'center', bold: true, large: true },
    { kind: 'text', text: `${words.point} ${order.pointId}`, align: 'center' },
    { kind: 'text', text: `${words.order} ${order.number}`, align: 'center', bold: true },
    { kind: 'text', text: formatTime(voided.voidedAt, options.timeZone), align: 'center' },
    { kind: 'rule' },
    { kind: 'pair', left: words.total, right: `-${formatMoney(order.total, order.currency, options.language)}`, bold: true },
    { kind: 'text', text: `${words.payment}: ${words[order.payment]}` },
    { kind: 'text', text: `${words.reason}: ${voided.reason}` },
    { kind: 'text', text: `${words.approvedBy}: ${words[voided.approvedBy]}` },
    { kind: 'text', text: voided.id, align: 'center' },
  ];
}

/** The kitchen's "VOID" ticket: stop cooking these lines. Pure. */
export function voidTicketBlocks(order: OrderRecord, voided: VoidRecord, options: PaperOptions): ReceiptBlock[] {
  const words = PAPER[options.language];
  const blocks: ReceiptBlock[] = [
    { kind: 'text', text: `${words.kitchen}: ${words.void}`, align: 'center', bold: true, large: true },
    { kind: 'text', text: `${words.order} ${order.number}`, align: 'center', bold: true, large: true },
    { kind: 'text', text: formatTime(voided.voidedAt, options.timeZone), align: 'center' },
    { kind: 'rule' },
  ];
  for (const item of order.items) blocks.push({ kind: 'text', text: `${item.qty} x ${itemName(item, options.language)}`, bold: true });
  blocks.push({ kind: 'rule' }, { kind: 'text', text: `${words.reason}: ${voided.reason}` });
  return blocks;
}

/** Which paper a queue prints: the customer's receipt, or the kitchen's ticket. */
export type PaperKind = 'receipt' | 'kitchen';

interface JobRow {
  id: number;
  order_id: string;
  reason: 'order' | 'reprint' | 'void';
}

export interface PrintQueueOptions {
  /** Receipts for the customer (the default) or tickets for the kitchen printer. */
  kind?: PaperKind;
  /** The language the paper is printed in. */
  language: Language;
  log: Logger;
  clock?: Clock;
  /** While the printer cannot print, it is asked again this often. */
  retryMs: number;
  /** Receipt times are printed in the point's zone. */
  timeZone: string;
}

/** Orders from this seq on get paper; older ones (before the queue existed) get none. */
const FROM_SEQ_KEY: Record<PaperKind, string> = { receipt: 'receipts.fromSeq', kitchen: 'kitchen.fromSeq' };

/**
 * The durable receipt queue. Every receipt is a row in `print_jobs`; printing never blocks or
 * fails an order. While the printer cannot print (real DLE EOT status), jobs wait; when it is
 * back they print oldest first, each once.
 *
 * Exactly once, and what a crash does: a job is marked `printing` (committed) before its bytes
 * leave and `printed` as soon as the printer has answered a status query sent after them. A job
 * found still `printing` at start-up was cut off by a crash between the write and the mark; the
 * printer cannot tell whether it printed, so it becomes `uncertain` and is NOT sent again (no
 * duplicate kitchen tickets, no reprint storm): it is logged, shows `printed: false`, and staff
 * reprint it if it is missing. A failure we do see (connection lost, timeout, the printer
 * reporting paper end right after) puts the job back in the queue.
 */
export class PrintQueue implements Receipts {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly stmts;
  private draining: Promise<void> | undefined;
  private wanted = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private waitingSince: number | null = null;
  private waitingReason: string | null = null;
  private stopped = true;
  readonly kind: PaperKind;

  constructor(private readonly store: OrderStore, private readonly printer: Printer, private readonly options: PrintQueueOptions) {
    this.clock = options.clock ?? systemClock;
    this.kind = options.kind ?? 'receipt';
    this.log = options.log.child({ paper: this.kind });
    const db = store.db;
    const kind = this.kind;
    this.stmts = {
      insert: db.prepare<[string, string, number]>(`INSERT INTO print_jobs (order_id, reason, state, created_at, target) VALUES (?, ?, 'queued', ?, '${kind}')`),
      nextQueued: db.prepare<[], JobRow>(`SELECT id, order_id, reason FROM print_jobs WHERE state = 'queued' AND target = '${kind}' ORDER BY id LIMIT 1`),
      markPrinting: db.prepare<[number, number]>("UPDATE print_jobs SET state = 'printing', attempts = attempts + 1, started_at = ? WHERE id = ?"),
      markPrinted: db.prepare<[number, number]>("UPDATE print_jobs SET state = 'printed', printed_at = ?, last_error = NULL WHERE id = ?"),
      markQueued: db.prepare<[string, number]>("UPDATE print_jobs SET state = 'queued', last_error = ? WHERE id = ?"),
      markUncertain: db.prepare<[string, number]>("UPDATE print_jobs SET state = 'uncertain', last_error = ? WHERE id = ?"),
      interrupted: db.prepare<[], JobRow>(`SELECT id, order_id, reason FROM print_jobs WHERE state = 'printing' AND target = '${kind}' ORDER BY id`),
      printed: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM print_jobs WHERE order_id = ? AND state = 'printed' AND reason != 'void' AND target = '${kind}' LIMIT 1`),
      counts: db.prepare<[], { state: string; n: number }>(`SELECT state, COUNT(*) AS n FROM print_jobs WHERE target = '${kind}' GROUP BY state`),
      maxSeq: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM orders'),
      missing: db.prepare<[number, number]>(
        `INSERT INTO print_jobs (order_id, reason, state, created_at, target)
         SELECT o.id, 'order', 'queued', ?, '${kind}' FROM orders o
         WHERE o.seq >= ? AND NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.order_id = o.id AND j.target = '${kind}') ORDER BY o.seq`,
      ),
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.recover();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.draining;
  }

  enqueue(order: OrderRecord): void {
    try {
      this.stmts.insert.run(order.id, 'order', this.clock.now());
      this.kick();
    } catch (error) {
      // The order is committed already; a receipt that cannot be queued must not fail it.
      this.log.error({ err: (error as Error).message, order: order.number }, 'could not queue the receipt; reprint it');
    }
  }

  enqueueVoid(voided: VoidRecord): void {
    try {
      this.stmts.insert.run(voided.orderId, 'void', this.clock.now());
      this.kick();
    } catch (error) {
      this.log.error({ err: (error as Error).message, order: voided.orderNumber }, 'could not queue the void slip');
    }
  }

  reprint(orderId: string): boolean {
    if (!this.store.get(orderId)) return false;
    this.stmts.insert.run(orderId, 'reprint', this.clock.now());
    this.kick();
    return true;
  }

  printed(orderId: string): boolean {
    return this.stmts.printed.get(orderId) !== undefined;
  }

  /** Why paper waits (the printer's last answer), since when, and how much waits; null while it prints. */
  waiting(): { reason: string; since: number; queued: number } | null {
    if (this.waitingSince === null || this.waitingReason === null) return null;
    return { reason: this.waitingReason, since: this.waitingSince, queued: this.counts().queued };
  }

  /** Jobs per state: queued, printing, printed, uncertain. */
  counts(): Record<'queued' | 'printing' | 'printed' | 'uncertain', number> {
    const out = { queued: 0, printing: 0, printed: 0, uncertain: 0 };
    for (const row of this.stmts.counts.all()) out[row.state as keyof typeof out] = row.n;
    return out;
  }

  /** Start-up: settle jobs a crash interrupted, and queue receipts for orders committed just before one. */
  private recover(): void {
    this.store.db.transaction(() => {
      for (const job of this.stmts.interrupted.all()) {
        this.stmts.markUncertain.run('interrupted by a restart between sending and confirming; not sent again', job.id);
        this.log.warn({ job: job.id, orderId: job.order_id }, 'a receipt may or may not have printed before the agent stopped; not printing it again (reprint it if it is missing)');
      }
      const maxSeq = this.stmts.maxSeq.get()?.seq ?? 0;
      const fromSeq = this.store.getMeta(FROM_SEQ_KEY[this.kind]);
      // Orders from before this queue existed get no receipt on upgrade.
      if (fromSeq !== null) {
        const added = this.stmts.missing.run(this.clock.now(), Number(fromSeq)).changes;
        if (added) this.log.warn({ added }, 'queued receipts for orders committed just before a crash');
      }
      this.store.setMeta(FROM_SEQ_KEY[this.kind], String(maxSeq + 1));
    })();
  }

  private kick(): void {
    this.wanted = true;
    if (this.stopped || this.draining || this.retryTimer) return;
    this.draining = (async () => {
      try {
        while (this.wanted && !this.stopped && !this.retryTimer) {
          this.wanted = false;
          await this.printWaiting();
        }
      } catch (error) {
        this.log.error({ err: error }, 'print queue failed; retrying');
        this.waitForPrinter((error as Error).message);
      } finally {
        this.draining = undefined;
      }
    })();
  }

  /** Prints queued jobs oldest first until none is left or the printer cannot print. */
  private async printWaiting(): Promise<void> {
    let ready = false;
    for (let job = this.stmts.nextQueued.get(); job && !this.stopped; job = this.stmts.nextQueued.get()) {
      if (!ready) {
        const problem = await this.printerProblem();
        if (problem) return this.waitForPrinter(problem);
      }
      const failure = await this.printJob(job);
      if (failure) return this.waitForPrinter(failure);
      ready = true;
    }
  }

  private async printerProblem(): Promise<string | null> {
    try {
      const assessment = assessPrinter(await this.printer.status());
      return assessment.status === 'down' ? assessment.reasons.join('; ') : null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Prints one job; returns why it did not print, or null. */
  private async printJob(job: JobRow): Promise<string | null> {
    const stored = this.store.get(job.order_id);
    if (!stored) {
      this.stmts.markUncertain.run('order not found', job.id);
      return null;
    }
    this.stmts.markPrinting.run(this.clock.now(), job.id);
    let failure: string | null;
    try {
      const paper = { reprint: job.reason === 'reprint', timeZone: this.options.timeZone, language: this.options.language };
      const after = assessPrinter(await this.printer.print(this.blocks(job, stored, paper)));
      failure = after.status === 'down' ? `the printer reported ${after.reasons.join('; ')} right after the receipt` : null;
    } catch (error) {
      failure = (error as Error).message;
    }
    if (failure) {
      this.stmts.markQueued.run(failure, job.id);
      return failure;
    }
    this.stmts.markPrinted.run(this.clock.now(), job.id);
    if (this.waitingSince !== null) {
      this.log.info({ waitedMs: this.clock.now() - this.waitingSince, queued: this.counts().queued }, 'printer is back; printing waiting receipts');
      this.waitingSince = null;
      this.waitingReason = null;
    }
    return null;
  }

  private blocks(job: JobRow, stored: StoredOrder, paper: PaperOptions): ReceiptBlock[] {
    const kitchen = this.kind === 'kitchen';
    if (job.reason === 'void' && stored.void) return kitchen ? voidTicketBlocks(stored.order, stored.void, paper) : voidSlipBlocks(stored.order, stored.void, paper);
    return kitchen ? kitchenTicketBlocks(stored.order, paper) : receiptBlocks(stored.order, paper);
  }

  private waitForPrinter(reason: string): void {
    this.waitingReason = reason;
    if (this.waitingSince === null) {
      this.waitingSince = this.clock.now();
      this.log.warn({ reason, queued: this.counts().queued }, 'receipts wait for the printer');
    }
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.options.retryMs);
    this.retryTimer.unref();
  }
}
