import { z } from 'zod';
import type { OrderRecord, VoidRecord } from '../../sync/schemas.js';
import type { BodyShape, UpstreamConfig, VoidBodyShape } from './config.js';

/** The main server's `RecordSale` command: prices in subunits (tetri), our order id as the sale id. */
export interface RecordSale {
  sale_id: string;
  node_id: string | number;
  pos_id: string | number;
  price_subunits: number;
  items: { item_id: string; quantity: number; price_subunits: number }[];
  buyer_meta: Record<string, unknown>;
}

export type UpstreamBody = OrderRecord | { RecordSale: RecordSale };

/** The main server's answer envelope: HTTP 200 with `success: false` is still a failure. */
export const UpstreamAnswer = z.object({
  success: z.boolean(),
  data: z.unknown().optional(),
  error: z.unknown().optional(),
});
export type UpstreamAnswer = z.infer<typeof UpstreamAnswer>;

export type Mapping = Pick<UpstreamConfig, 'nodeId' | 'points'>;

/**
 * The one place an order record becomes an upstream body. Item `price_subunits` is the unit
 * price (quantity is separate); the sale's `price_subunits` is the order total.
 */
export function toUpstreamBody(order: OrderRecord, shape: BodyShape, mapping: Mapping): UpstreamBody {
  if (shape === 'plain') return order;
  const point = mapping.points[order.pointId];
  return {
    RecordSale: {
      sale_id: order.id,
      node_id: point?.nodeId ?? mapping.nodeId ?? order.pointId,
      pos_id: point?.posId ?? order.pointId,
      price_subunits: order.total,
      items: order.items.map((item) => ({ item_id: item.sku ?? item.name, quantity: item.qty, price_subunits: item.unitPrice })),
      buyer_meta: {
        order_number: order.number,
        point_id: order.pointId,
        currency: order.currency,
        payment: order.payment,
        created_at: order.createdAt,
        mode: order.mode,
        note: order.note,
        client_ref: order.clientRef,
      },
    },
  };
}

/** The main server's `VoidSale` command: the sale it cancels, our void id, why and when (ms since the epoch, the box's clock). */
export interface VoidSale {
  sale_id: string;
  void_id: string;
  reason: string;
  voided_at: number;
}

export type UpstreamVoidBody = VoidRecord | { VoidSale: VoidSale };

/** The one place a void record becomes an upstream body. */
export function toUpstreamVoidBody(record: VoidRecord, shape: VoidBodyShape): UpstreamVoidBody {
  if (shape === 'plain') return record;
  return { VoidSale: { sale_id: record.orderId, void_id: record.id, reason: record.reason, voided_at: record.voidedAt } };
}
