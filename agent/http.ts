import { z } from 'zod';
import { HttpError, Router, parseWith, type Request } from '../lib/http.js';
import type { Logger } from '../lib/log.js';
import type { Clock } from '../lib/clock.js';
import { DateString, orderTime, tabletOrderNumber, type OrderRecord, type VoidRecord } from '../sync/schemas.js';
import { dayWindow, formatMinor, localDate } from '../sync/day-summary.js';
import type { Agent } from './agent.js';
import { isLoopbackHost } from './config.js';
import { lateEntry, offlineLimitBreach, type LimitBreach } from './limits.js';
import { OrderRequest, priceItems } from './orders.js';
import { boxDaySummary } from './reconciliation.js';
import { repeatedVoid, voidApprover, VoidRequest } from './voids.js';
import { syncState, type StoredOrder } from './store.js';
import { accessGate, clientOf, GuardedRouter, PageAssets, PinGate, pinRefused, registerPageRoutes, StaffSessions } from './page/index.js';

const OrdersQuery = z.object({
  status: z.enum(['unsynced', 'synced', 'all']).default('all'),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  /** Only orders of this local day (the box's timeZone). */
  date: DateString.optional(),
});

const DayQuery = z.object({ date: DateString.optional() });

/**
 * `POST /api/mode`: force manual-order mode (`"offline"`) or hand it back to the checks (`null`).
 * With `pins.manager` set, only a manager can (`managerPin`).
 */
const ModeRequest = z.strictObject({ force: z.enum(['offline']).nullable(), managerPin: z.string().max(64).optional() });

/** `POST /api/drawer/open`: a manager opens the cash drawer by hand. */
const DrawerRequest = z.strictObject({ managerPin: z.string().max(64) });

export interface AgentRouterDeps {
  log: Logger;
  clock: Clock;
}

const LIMIT_NAMES: Record<LimitBreach['limit'], string> = {
  maxOrderTotal: 'the offline limit per order',
  maxOfflineTotal: 'the offline sales limit (orders not yet synced)',
};

/** An order over an offline limit goes through only with the manager PIN; else a 403 saying why. */
function approveOverLimit(breach: LimitBreach, currency: string, managerPin: string | undefined, manager: PinGate | undefined, req: Request, log: Logger): void {
  const over = `${formatMinor(breach.amount)} ${currency} is over ${LIMIT_NAMES[breach.limit]} of ${formatMinor(breach.max)} ${currency}`;
  const facts = { limit: breach.limit, max: breach.max, amount: breach.amount };
  if (!manager) throw new HttpError(403, { error: `${over}; no manager PIN is set on this box (pins.manager), so it cannot be approved`, code: 'over_limit', ...facts });
  if (managerPin === undefined) throw new HttpError(403, { error: `${over}: a manager PIN is needed`, code: 'manager_pin_required', ...facts });
  const result = manager.check(clientOf(req), managerPin);
  // A wrong PIN keeps the facts, so the page can ask again saying the same amounts.
  if (!result.ok) {
    const refusal = pinRefused(result, 'manager');
    throw new HttpError(refusal.status, { ...refusal.body(), ...facts });
  }
  log.info(facts, 'order over an offline limit approved with the manager PIN');
}

/** A `takenAt` the box cannot take (too far ahead, too old), or one old enough to need the manager PIN. */
function approveLateEntry(
  config: AgentRouterDeps & { limits: Parameters<typeof lateEntry>[0]; manager: PinGate | undefined },
  takenAt: number | undefined,
  managerPin: string | undefined,
  req: Request,
  fromTablet: boolean,
) {
  const entry = lateEntry(config.limits, takenAt, config.clock.now());
  const minutes = Math.round(entry.ageMs / 60_000);
  if (!entry.ok) {
    const error =
      entry.reason === 'future'
        ? `takenAt is ${-minutes} min ahead of the box's clock (at most 2 min is taken as now): check the tablet's or the box's clock`
        : `takenAt is ${Math.round(entry.ageMs / 3_600_000)} h ago, older than limits.lateEntryMaxHours (${config.limits.lateEntryMaxHours} h): enter it at central's side instead`;
    throw new HttpError(400, { error, code: entry.reason === 'future' ? 'taken_at_future' : 'taken_at_too_old', issues: [{ path: 'takenAt', message: error }] });
  }
  if (entry.needsManager && !fromTablet) {
    const late = `an order taken ${minutes} min ago is a late entry (over limits.lateEntryMinutes, ${config.limits.lateEntryMinutes} min)`;
    if (!config.manager) throw new HttpError(403, { error: `${late}; no manager PIN is set on this box (pins.manager), so it cannot be approved`, code: 'late_entry', ageMinutes: minutes });
    if (managerPin === undefined) throw new HttpError(403, { error: `${late}: a manager PIN is needed`, code: 'manager_pin_required', ageMinutes: minutes });
    const result = config.manager.check(clientOf(req), managerPin);
    if (!result.ok) {
      const refusal = pinRefused(result, 'manager');
      throw new HttpError(refusal.status, { ...refusal.body(), ageMinutes: minutes });
    }
    config.log.info({ takenAt: entry.takenAt, ageMinutes: minutes }, 'late entry approved with the manager PIN');
  }
  return entry.takenAt;
}

/** A manager-only action: 409 without pins.manager, 403 without or with a wrong PIN. */
function requireManager(manager: PinGate | undefined, managerPin: string | undefined, req: Request, what: string): void {
  if (!manager) throw new HttpError(409, { error: `no manager PIN is set on this box (pins.manager), so nobody can ${what}`, code: 'no_manager_pin' });
  if (managerPin === undefined) throw new HttpError(403, { error: `a manager PIN is needed to ${what}`, code: 'manager_pin_required' });
  const result = manager.check(clientOf(req), managerPin);
  if (!result.ok) throw pinRefused(result, 'manager');
}

/** The `201 {id, number, total, currency, status, printed}` body of a committed order. */
function receipt(agent: Agent, order: OrderRecord, stored: Pick<StoredOrder, 'syncedAt' | 'conflictAt'>, justCommitted: boolean) {
  return {
    id: order.id,
    number: order.number,
    createdAt: order.createdAt,
    takenAt: orderTime(order),
    total: order.total,
    currency: order.currency,
    status: syncState(stored),
    // An order committed a moment ago has not reached the printer yet: no query on the commit path.
    printed: !justCommitted && (agent.receipts?.printed(order.id) ?? false),
  };
}

/** The agent's HTTP API per the public contract, and the staff page. */
export function agentRouter(agent: Agent, { log, clock }: AgentRouterDeps): Router {
  const { config } = agent;
  const loopbackOnly = isLoopbackHost(config.http.host);
  // On loopback the page serves the box's own screen; exposed beyond it, the staff PIN guards it
  // (the config refuses a non-loopback host without pins.staff).
  const sessions = !loopbackOnly && config.pins.staff ? new StaffSessions(new PinGate('staff', config.pins.staff, clock, log), config.pins.staff, clock, agent.store) : undefined;
  const router = new GuardedRouter(accessGate({ loopbackOnly, sessions }));
  const manager = config.pins.manager ? new PinGate('manager', config.pins.manager, clock, log) : undefined;
  const today = () => localDate(clock.now(), config.timeZone);
  const assets = new PageAssets();
  if (assets.problem) log.error({ dir: assets.dir }, `${assets.problem}; orders can still be taken through the API`);
  registerPageRoutes(router, { agent, assets, sessions, clock });
  // The contract's health, plus what the staff page shows: since when the mode holds, and why paper waits.
  router.get('/api/health', () => ({
    status: 200,
    body: {
      ...agent.healthBody(),
      modeSince: agent.modeSince,
      forcedOffline: agent.health.forcedOffline?.() ?? [],
      paper: { receipt: agent.receipts?.waiting() ?? null, kitchen: agent.kitchen?.waiting() ?? null },
    },
  }));
  router.get('/api/menu', () => ({ status: 200, body: agent.menu.menu }));
  router.get('/api/notices', () => ({ status: 200, body: agent.notices.body }));
  router.post('/api/orders', (req) => {
    const request = parseWith(OrderRequest, req.body);
    const priced = priceItems(request, agent.menu.menu);
    if ('issues' in priced) {
      throw new HttpError(400, { error: `invalid order: ${priced.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, code: 'invalid_order', issues: priced.issues });
    }
    // A retried POST with a known clientRef answers 200 with the order it already saved.
    const prior = request.clientRef ? agent.store.getByClientRef(request.clientRef) : null;
    if (prior) return { status: 200, body: receipt(agent, prior.order, prior, false) };
    // A tablet's queued order was taken live while the box was away: no manager PIN for its age, but still the max age.
    const fromTablet = request.deviceTag !== undefined;
    const takenAt = approveLateEntry({ log, clock, limits: config.limits, manager }, request.takenAt, request.managerPin, req, fromTablet);
    const mode = agent.health.mode();
    const total = priced.items.reduce((sum, item) => sum + item.lineTotal, 0);
    // Summing the offline backlog scans it: only when a limit on it is configured.
    const offlineBacklog = mode === 'offline' && config.limits.maxOfflineTotal !== undefined ? agent.store.unsyncedOfflineTotal() : 0;
    const breach = offlineLimitBreach(config.limits, mode, total, offlineBacklog);
    if (breach) approveOverLimit(breach, agent.menu.menu.currency, request.managerPin, manager, req, log);
    const { order, created } = agent.commitOrder({
      items: priced.items,
      payment: request.payment,
      note: request.note ?? null,
      clientRef: request.clientRef ?? null,
      currency: agent.menu.menu.currency,
      mode,
      takenAt,
      number: fromTablet ? tabletOrderNumber(config.pointId, request.deviceTag!, request.deviceSeq!) : null,
    });
    const stored = (created ? null : agent.store.get(order.id)) ?? { syncedAt: null, conflictAt: null };
    return { status: created ? 201 : 200, body: receipt(agent, order, stored, created) };
  });
  router.get('/api/orders', (req) => {
    const query = parseWith(OrdersQuery, Object.fromEntries(req.query), 'query');
    const day = query.date ? dayWindow(query.date, config.timeZone) : undefined;
    const orders = agent.store.list(query.status, { limit: query.limit, ...(day ? { since: day.from, until: day.to } : {}) });
    return {
      status: 200,
      body: orders.map((stored) => ({
        ...stored.order,
        takenAt: orderTime(stored.order),
        syncedAt: stored.syncedAt,
        sync: syncState(stored),
        printed: agent.receipts?.printed(stored.order.id) ?? false,
        voidedAt: stored.void?.voidedAt ?? null,
        voidReason: stored.void?.reason ?? null,
      })),
    };
  });
  router.post('/api/orders/:id/void', (req) => {
    const request = parseWith(VoidRequest, req.body);
    const stored = agent.store.get(req.params.id!);
    if (!stored) throw new HttpError(404, { error: `no order ${req.params.id} on this box`, code: 'order_not_found' });
    const answerRepeat = (existing: VoidRecord) => {
      if (repeatedVoid(existing, request.reason).status === 200) return { status: 200, body: existing };
      throw new HttpError(409, { error: `order ${existing.orderNumber} is already voided, with another reason ("${existing.reason}")`, code: 'already_voided', void: existing });
    };
    if (stored.void) return answerRepeat(stored.void);
    const approvedBy = voidApprover(stored.order.createdAt, clock.now(), config.limits.voidWithoutPinMinutes);
    if (approvedBy === 'manager') requireManager(manager, request.managerPin, req, `void an order older than ${config.limits.voidWithoutPinMinutes} minutes`);
    const result = agent.commitVoid({ orderId: stored.order.id, reason: request.reason, approvedBy });
    if (!result) throw new HttpError(404, { error: `no order ${req.params.id} on this box`, code: 'order_not_found' });
    if (!result.created) return answerRepeat(result.void);
    log.info({ order: stored.order.number, voidId: result.void.id, approvedBy, client: clientOf(req) }, 'order voided');
    return { status: 201, body: result.void };
  });
  router.post('/api/orders/:id/reprint', (req) => {
    const stored = agent.store.get(req.params.id!);
    if (!stored) throw new HttpError(404, { error: `no order ${req.params.id} on this box`, code: 'order_not_found' });
    if (!agent.receipts) throw new HttpError(409, { error: 'no receipt printer is configured (checks.printer.interface is none)', code: 'no_printer' });
    agent.receipts.reprint(stored.order.id);
    return { status: 202, body: { id: stored.order.id, number: stored.order.number, queued: true } };
  });
  router.get('/api/reconciliation', (req) => {
    const query = parseWith(DayQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: boxDaySummary(agent.store, config.pointId, query.date ?? today(), config.timeZone) };
  });
  router.post('/api/mode', (req) => {
    const { force, managerPin } = parseWith(ModeRequest, req.body);
    if (!agent.health.force) throw new HttpError(409, { error: 'this agent runs without device checks, so its mode cannot be forced', code: 'mode_fixed' });
    if (manager) requireManager(manager, managerPin, req, 'change the mode');
    agent.health.force('staff', force);
    log.info({ force, client: clientOf(req), byManager: manager !== undefined }, force ? 'point taken offline by hand' : 'mode handed back to the checks');
    return { status: 200, body: { mode: agent.health.snapshot().mode, force } };
  });
  router.post('/api/drawer/open', async (req) => {
    const { managerPin } = parseWith(DrawerRequest, req.body);
    if (!agent.drawer) throw new HttpError(409, { error: 'no receipt printer is configured, so there is no cash drawer to open', code: 'no_drawer' });
    requireManager(manager, managerPin, req, 'open the cash drawer');
    const result = await agent.drawer.open({ reason: 'by hand', client: clientOf(req) });
    if (!result.opened) throw new HttpError(502, { error: `the drawer did not open: ${result.problem}`, code: 'drawer_failed' });
    return { status: 200, body: { opened: true } };
  });
  return router;
}
