import { z } from 'zod';

/** Milliseconds since the epoch; every message carries one as `ts`. */
export const Timestamp = z.number().int().nonnegative();
/** Money in minor units (tetri, cents): integers only, everywhere. */
export const Money = z.number().int().nonnegative().max(1_000_000_000);
/** A point's id: `tbilisi-01`. */
export const POINT_ID = /^[a-z0-9-]{1,64}$/;
export const PointId = z.string().regex(POINT_ID, 'must be 1-64 of a-z, 0-9 and -');
export const OrderId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'must be a UUIDv7');
export const Currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as GEL');

export const MAX_PAYLOAD_BYTES = 512 * 1024;
export const MAX_ORDER_ITEMS = 200;
export const MAX_ORDERS_PER_MESSAGE = 1000;

/** `unknown`: the box cannot tell (no sensor, no smartctl); only the hardware checks say it, and it is never down. */
export const CheckStatus = z.enum(['up', 'down', 'degraded', 'unknown']);
export const CheckState = z.object({
  status: CheckStatus,
  detail: z.string().max(500),
  since: Timestamp,
  /** Numbers behind the status (latency, percentages); optional. */
  data: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).optional(),
});
export type CheckState = z.infer<typeof CheckState>;

export const CHECK_NAMES = ['internet', 'printer', 'camera', 'system'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
/** Hardware health (box temperature, disk health and wear): optional in a health report (older agents lack them). */
export const HARDWARE_CHECK_NAMES = ['temperature', 'disk'] as const;
export type HardwareCheckName = (typeof HARDWARE_CHECK_NAMES)[number];
export const ALL_CHECK_NAMES = [...CHECK_NAMES, ...HARDWARE_CHECK_NAMES] as const;
export type AnyCheckName = (typeof ALL_CHECK_NAMES)[number];

export const Mode = z.enum(['online', 'offline']);
export type Mode = z.infer<typeof Mode>;

/** `GET /api/health` on the agent. */
export const HealthBody = z.object({
  pointId: PointId,
  mode: Mode,
  checks: z.object({ internet: CheckState, printer: CheckState, camera: CheckState, system: CheckState, temperature: CheckState.optional(), disk: CheckState.optional() }),
  unsynced: z.number().int().nonnegative(),
  oldestUnsyncedAt: Timestamp.nullable().optional(),
  /** Orders central holds other content for under the same id: never synced, a person must compare them. */
  conflicts: z.number().int().nonnegative().optional(),
  version: z.string().max(64).optional(),
});
export type HealthBody = z.infer<typeof HealthBody>;

/** `points/{id}/health`: the health body plus `ts`. */
export const HealthMessage = HealthBody.extend({ ts: Timestamp });
export type HealthMessage = z.infer<typeof HealthMessage>;

/** `points/{id}/status`, retained; the will carries `online:false` and the same session. */
export const StatusMessage = z.object({
  online: z.boolean(),
  ts: Timestamp,
  version: z.string().max(64),
  /** Incremented per MQTT connection (Sparkplug's bdSeq): a will from an older session is stale. */
  session: z.number().int().nonnegative(),
});
export type StatusMessage = z.infer<typeof StatusMessage>;

export const CentralStatusMessage = z.object({ online: z.boolean(), ts: Timestamp });
export type CentralStatusMessage = z.infer<typeof CentralStatusMessage>;

const Names = z.object({ ru: z.string().min(1).max(120), en: z.string().min(1).max(120), ka: z.string().min(1).max(120) });

export const OrderItem = z.object({
  sku: z.string().min(1).max(64).nullable(),
  name: z.string().min(1).max(120),
  /** A menu item's name in every menu language, as the menu had it when the order was taken (absent on open items and older records). */
  names: Names.optional(),
  unitPrice: Money,
  qty: z.number().int().min(1).max(999),
  lineTotal: Money,
});
export type OrderItem = z.infer<typeof OrderItem>;

export const Payment = z.enum(['cash', 'card']);

/** The full order record: what the box stores, sends and central commits. */
export const OrderRecord = z
  .object({
    id: OrderId,
    pointId: PointId,
    seq: z.number().int().positive(),
    number: z.string().min(3).max(80),
    createdAt: Timestamp,
    items: z.array(OrderItem).min(1).max(MAX_ORDER_ITEMS),
    total: Money,
    currency: Currency,
    payment: Payment,
    note: z.string().max(500).nullable(),
    clientRef: z.string().max(100).nullable(),
    mode: Mode,
    /** When the order was really taken, for one entered late (paper, a tablet while the box was down): its day. */
    takenAt: Timestamp.optional(),
  })
  .superRefine((order, ctx) => {
    order.items.forEach((item, i) => {
      if (item.lineTotal !== item.unitPrice * item.qty) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'lineTotal'], message: 'lineTotal must equal unitPrice × qty' });
      }
    });
    if (order.total !== order.items.reduce((sum, item) => sum + item.lineTotal, 0)) {
      ctx.addIssue({ code: 'custom', path: ['total'], message: 'total must equal the sum of lineTotal' });
    }
    if (order.number !== orderNumber(order.pointId, order.seq) && !isTabletNumber(order.pointId, order.number)) {
      ctx.addIssue({ code: 'custom', path: ['number'], message: 'number must be <pointId>-<seq> or, for an order a tablet kept, <pointId>-<deviceTag>-<seq>' });
    }
  });
export type OrderRecord = z.infer<typeof OrderRecord>;

/** The time an order counts at (its day): when it was really taken, else when the box committed it. */
export function orderTime(order: Pick<OrderRecord, 'createdAt' | 'takenAt'>): number {
  return order.takenAt ?? order.createdAt;
}

export function orderNumber(pointId: string, seq: number): string {
  return `${pointId}-${String(seq).padStart(6, '0')}`;
}

/** A tablet's tag (1–8 of [a-z0-9], made once per tablet) and its own order counter. */
export const DeviceTag = z.string().regex(/^[a-z0-9]{1,8}$/, 'must be 1-8 of a-z and 0-9');
export const DeviceSeq = z.number().int('deviceSeq must be a whole number').positive().max(1_000_000_000);

/**
 * The number of an order a tablet took while the box did not answer: `<pointId>-<deviceTag>-<seq>`,
 * made on the tablet and kept by the box. It never equals a box number (`<pointId>-<6 digits>`).
 */
export function tabletOrderNumber(pointId: string, deviceTag: string, deviceSeq: number): string {
  return `${pointId}-${deviceTag}-${deviceSeq}`;
}

function isTabletNumber(pointId: string, number: string): boolean {
  return number.startsWith(`${pointId}-`) && /^[a-z0-9]{1,8}-[1-9][0-9]{0,9}$/.test(number.slice(pointId.length + 1));
}

export const MAX_VOID_REASON_CHARS = 200;
export const VoidReason = z.string().trim().min(1, 'a void needs a reason').max(MAX_VOID_REASON_CHARS);

/**
 * A void: an event of its own that cancels one order (DESIGN.md "Voids"). `approvedBy` says who let
 * it through: the staff within `limits.voidWithoutPinMinutes` of the order, else the manager PIN.
 * `total` is the voided order's, so the record reads on its own (the main server's `plain` body).
 */
export const VoidRecord = z.object({
  id: OrderId,
  orderId: OrderId,
  pointId: PointId,
  orderNumber: z.string().min(3).max(80),
  total: Money,
  reason: VoidReason,
  voidedAt: Timestamp,
  approvedBy: z.enum(['staff', 'manager']),
});
export type VoidRecord = z.infer<typeof VoidRecord>;

/**
 * `points/{id}/orders`: full order records and voids, sent, acked (by id) and resent alike. A
 * message carries at least one of either; `voids` is absent from boxes that predate voids.
 */
export const OrdersMessage = z
  .object({
    ts: Timestamp,
    orders: z.array(OrderRecord).max(MAX_ORDERS_PER_MESSAGE).default([]),
    voids: z.array(VoidRecord).max(MAX_ORDERS_PER_MESSAGE).default([]),
  })
  .refine((message) => message.orders.length + message.voids.length > 0, { message: 'a message needs at least one order or void', path: ['orders'] });
export type OrdersMessage = z.infer<typeof OrdersMessage>;

/**
 * `points/{id}/acks`: `ids` central has committed with exactly the content sent; `conflicts`: ids
 * central already holds with other content (the box marks those orders "conflict", never synced).
 */
export const AckMessage = z
  .object({
    ts: Timestamp,
    ids: z.array(OrderId).max(MAX_ORDERS_PER_MESSAGE),
    conflicts: z.array(OrderId).max(MAX_ORDERS_PER_MESSAGE).default([]),
  })
  .refine((ack) => ack.ids.length + ack.conflicts.length > 0, { message: 'an ack names at least one id', path: ['ids'] });
export type AckMessage = z.infer<typeof AckMessage>;

export const CommandResultMessage = z.object({
  ts: Timestamp,
  id: z.string().min(1).max(64),
  pointId: PointId,
  ok: z.boolean(),
  detail: z.string().max(2000),
});
export type CommandResultMessage = z.infer<typeof CommandResultMessage>;

/** One menu format everywhere: `menuFile`, `PUT /api/menu` and the retained `menu` topic. */
export const Menu = z
  .object({
    currency: Currency,
    categories: z.array(z.object({ id: z.string().min(1).max(64), name: Names })).max(100),
    items: z
      .array(
        z.object({
          sku: z.string().min(1).max(64),
          category: z.string().min(1).max(64),
          price: Money,
          name: Names,
          unit: z.string().max(20).optional(),
        }),
      )
      .max(2000),
    ts: Timestamp.optional(),
  })
  .superRefine((menu, ctx) => {
    const categories = new Set(menu.categories.map((c) => c.id));
    const skus = new Set<string>();
    menu.items.forEach((item, i) => {
      if (!categories.has(item.category)) ctx.addIssue({ code: 'custom', path: ['items', i, 'category'], message: `unknown category ${item.category}` });
      if (skus.has(item.sku)) ctx.addIssue({ code: 'custom', path: ['items', i, 'sku'], message: `duplicate sku ${item.sku}` });
      skus.add(item.sku);
    });
  });
export type Menu = z.infer<typeof Menu>;

/** Why a message was refused; each is a counter label. */
export type RejectReason = 'too_large' | 'bad_json' | 'bad_schema' | 'unknown_topic' | 'point_mismatch';

/** The calendar dates the product knows about: a sale, a day summary or a query outside them is a typo. */
export const DATE_RANGE = { min: '2000-01-01', max: '2199-12-31' } as const;

/** A calendar date in the point's time zone, within DATE_RANGE (so day arithmetic never leaves four-digit years). */
export const DateString = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((date) => {
    const time = Date.parse(`${date}T00:00:00Z`);
    return !Number.isNaN(time) && new Date(time).toISOString().startsWith(date);
  }, 'is not a real calendar date')
  .refine((date) => date >= DATE_RANGE.min && date <= DATE_RANGE.max, `must be between ${DATE_RANGE.min} and ${DATE_RANGE.max}`);

export const MAX_DAY_GAPS = 100;
export const MAX_DAYS_PER_MESSAGE = 31;

const Tally = z.object({ count: z.number().int().nonnegative(), total: z.number().int().nonnegative() });

/** One point's orders of one local day: what the box has, or what central received. */
export const DaySummary = z.object({
  pointId: PointId,
  date: DateString,
  timeZone: z.string().min(1).max(64),
  /** The day as epoch ms [from, to): both sides count orders by `createdAt` in this window. */
  from: Timestamp,
  to: Timestamp,
  count: z.number().int().nonnegative(),
  /** Sum of order totals, minor units (every order, voided or not: the same as `gross`). */
  total: z.number().int().nonnegative(),
  /** Voids count in their order's day. Absent from boxes that predate voids. */
  gross: z.number().int().nonnegative().optional(),
  voids: z.object({ count: z.number().int().nonnegative(), sum: z.number().int().nonnegative() }).optional(),
  /** gross − voids.sum. */
  net: z.number().int().optional(),
  byPayment: z.object({ cash: Tally, card: Tally }),
  firstNumber: z.string().max(80).nullable(),
  lastNumber: z.string().max(80).nullable(),
  firstSeq: z.number().int().positive().nullable(),
  lastSeq: z.number().int().positive().nullable(),
  /** Sequence numbers missing between firstSeq and lastSeq, as ranges (the first MAX_DAY_GAPS). */
  gaps: z.array(z.object({ from: z.number().int().positive(), to: z.number().int().positive() })).max(MAX_DAY_GAPS),
  missing: z.number().int().nonnegative(),
  /** Orders sharing a sequence number with another (a box restored from an old backup). */
  duplicateSeqs: z.number().int().nonnegative(),
  /** Orders of the day not yet acked by central (always 0 in central's own summary). */
  unsynced: z.number().int().nonnegative(),
});
export type DaySummary = z.infer<typeof DaySummary>;

/** `points/{id}/day`, retained: the box's summaries of the days central should check. */
export const DaySummaryMessage = z.object({ ts: Timestamp, pointId: PointId, days: z.array(DaySummary).min(1).max(MAX_DAYS_PER_MESSAGE) });
export type DaySummaryMessage = z.infer<typeof DaySummaryMessage>;

/** How a notice reads on the staff page: `critical` is an outage the staff must act on. */
export const NOTICE_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const NoticeSeverity = z.enum(NOTICE_SEVERITIES);
export type NoticeSeverity = z.infer<typeof NoticeSeverity>;
export const MAX_NOTICE_CHARS = 500;
export const MAX_NOTICES = 50;

const NoticeText = z.string().trim().min(1).max(MAX_NOTICE_CHARS);
/** A notice's text in every language a staff page speaks. */
export const NoticeTexts = z.object({ ru: NoticeText, en: NoticeText, ka: NoticeText });
export type NoticeTexts = z.infer<typeof NoticeTexts>;

/** One notice for the staff at every point (and the public status page). */
export const Notice = z.object({
  id: z.string().min(1).max(64),
  severity: NoticeSeverity,
  text: NoticeTexts,
  /** When it was posted, ms since the epoch. */
  since: Timestamp,
});
export type Notice = z.infer<typeof Notice>;

/** `notices`, retained: every current notice, `[]` when there are none. */
export const NoticesMessage = z.array(Notice).max(MAX_NOTICES);
export type NoticesMessage = z.infer<typeof NoticesMessage>;
