import type { EventEmitter } from 'node:events';

/** The `ctx.events` event the dashboard relays to every open page over SSE. */
export const DASHBOARD_EVENT = 'dashboard';

/** Event types the dashboard itself sends; others pick their own names (e.g. `runbook`, `backup`). */
export const RESERVED_TYPES = ['snapshot', 'points', 'incident'] as const;

export const EVENT_TYPE = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Pushes `data` to every open dashboard as SSE `event: <type>`; panels listen with
 * `app.on('<type>', fn)`. Any module may call it with its `ctx.events`; with no page open it costs
 * one emit.
 */
export function toDashboard(events: EventEmitter, type: string, data: unknown): void {
  events.emit(DASHBOARD_EVENT, type, data);
}
