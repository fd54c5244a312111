import { z } from 'zod';
import { DeviceSeq, DeviceTag, Money, MAX_ORDER_ITEMS, Payment, type Menu, type OrderItem } from '../sync/schemas.js';

const Qty = z.number().int('qty must be a whole number').min(1, 'qty must be at least 1').max(999, 'qty must be at most 999');

const MenuLine = z.strictObject({ sku: z.string().min(1).max(64), qty: Qty });
const OpenLine = z.strictObject({ name: z.string().trim().min(1).max(120), unitPrice: Money, qty: Qty });

/** A line with a `sku` is a menu line, else an open item: each error names its field (a plain union says only "Invalid input"). */
const Line = z.unknown().transform((value, ctx) => {
  const schema = typeof value === 'object' && value !== null && 'sku' in value ? MenuLine : OpenLine;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});

/** `POST /api/orders` body. Prices of menu items come from the menu, never from the client. */
export const OrderRequest = z
  .strictObject({
    items: z.array(Line).min(1, 'an order needs at least one item').max(MAX_ORDER_ITEMS, `at most ${MAX_ORDER_ITEMS} lines per order`),
    payment: Payment,
    note: z.string().max(500).optional(),
    clientRef: z.string().min(1).max(100).optional(),
    /** When the order was really taken (ms since the epoch): a paper order or one a tablet kept while the box was down. */
    takenAt: z.number().int('takenAt must be whole milliseconds since the epoch').positive().optional(),
    /** Approves an order over an offline limit (`limits.*`) or a late entry; checked against `pins.manager`. */
    managerPin: z.string().max(64).optional(),
    /** An order a tablet kept while the box did not answer: the tablet's tag and its counter make the order's number. */
    deviceTag: DeviceTag.optional(),
    deviceSeq: DeviceSeq.optional(),
  })
  .superRefine((request, ctx) => {
    if ((request.deviceTag === undefined) !== (request.deviceSeq === undefined)) {
      const missing = request.deviceTag === undefined ? 'deviceTag' : 'deviceSeq';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'deviceTag and deviceSeq come together' });
    }
    if (request.deviceTag !== undefined && request.clientRef === undefined) {
      ctx.addIssue({ code: 'custom', path: ['clientRef'], message: 'an order a tablet kept needs its clientRef (it is delivered exactly once by it)' });
    }
  });
export type OrderRequest = z.infer<typeof OrderRequest>;

export interface PricingIssue {
  path: string;
  message: string;
  /** What the page words in its own language. */
  code: 'unknown_sku' | 'total_too_large';
}

/** Each menu's items by sku, made once per menu (a menu object is replaced, never changed). */
const skuIndexes = new WeakMap<Menu, Map<string, Menu['items'][number]>>();

function skuIndex(menu: Menu): Map<string, Menu['items'][number]> {
  let index = skuIndexes.get(menu);
  if (!index) {
    index = new Map(menu.items.map((item) => [item.sku, item]));
    skuIndexes.set(menu, index);
  }
  return index;
}

/** Turns request lines into priced items (integer minor units), or the issues that stop it. */
export function priceItems(request: OrderRequest, menu: Menu): { items: OrderItem[] } | { issues: PricingIssue[] } {
  const bySku = skuIndex(menu);
  const issues: PricingIssue[] = [];
  const items: OrderItem[] = [];
  request.items.forEach((line, i) => {
    if ('sku' in line) {
      const entry = bySku.get(line.sku);
      if (!entry) {
        issues.push({ path: `items.${i}.sku`, message: `unknown sku "${line.sku}": not on this point's menu`, code: 'unknown_sku' });
        return;
      }
      items.push({ sku: line.sku, name: entry.name.en, names: entry.name, unitPrice: entry.price, qty: line.qty, lineTotal: entry.price * line.qty });
    } else {
      items.push({ sku: null, name: line.name, unitPrice: line.unitPrice, qty: line.qty, lineTotal: line.unitPrice * line.qty });
    }
  });
  const total = items.reduce((sum, item) => sum + item.lineTotal, 0);
  if (!Number.isSafeInteger(total) || total > 1_000_000_000) issues.push({ path: 'items', message: 'order total is too large', code: 'total_too_large' });
  return issues.length ? { issues } : { items };
}
