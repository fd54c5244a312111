import { z } from 'zod';
import { VoidReason, type VoidRecord } from '../sync/schemas.js';

/** `POST /api/orders/:id/void` body. */
export const VoidRequest = z.strictObject({
  reason: VoidReason,
  /** Needed once the order is older than `limits.voidWithoutPinMinutes`; checked against `pins.manager`. */
  managerPin: z.string().max(64).optional(),
});
export type VoidRequest = z.infer<typeof VoidRequest>;

/** Who must approve voiding an order taken at `orderCreatedAt`: the staff alone within the window, else the manager. Pure. */
export function voidApprover(orderCreatedAt: number, now: number, withoutPinMinutes: number): VoidRecord['approvedBy'] {
  return now - orderCreatedAt <= withoutPinMinutes * 60_000 ? 'staff' : 'manager';
}

/**
 * A void asked for again: the same reason is a retry (200, the same void), another reason is a
 * different request the order can no longer take (409). Pure.
 */
export function repeatedVoid(existing: VoidRecord, reason: string): { status: 200 | 409 } {
  return { status: existing.reason === reason ? 200 : 409 };
}
