import { redactSecrets } from '../../lib/redact.js';
import { BOOKS_META_KEY, readBooksReport, type BooksReport } from './books.js';
import { statusUrlOf, type UpstreamConfig } from './config.js';
import type { EndpointHealth } from './endpoints.js';
import { parseJsonAs } from './json.js';
import { LIVE_META_KEY, LiveStatus } from './loop.js';
import type { Backlog, ForwardAuditEntry, ForwardStore, ParkedOrder, PointBacklog, VoidBacklog } from './store.js';

const PARKED_SHOWN = 100;
const AUDIT_SHOWN = 20;

/** What `GET /api/forwarding` shows, on any replica (the endpoint is absent while `upstream.url` is unset). */
export interface ForwardingView {
  upstream: string;
  /** Each of `upstream.urls` in order: which is current, and its health as the leader last saw it. */
  endpoints: EndpointHealth[];
  statusUrl: string | null;
  body: UpstreamConfig['body'];
  concurrency: number;
  state: 'forwarding' | 'idle' | 'paused';
  paused: LiveStatus['paused'];
  inFlight: number;
  consecutiveFailures: number;
  lastForwardedAt: number | null;
  lastError: LiveStatus['lastError'];
  lastProbe: LiveStatus['lastProbe'];
  backlog: Backlog;
  forwarded: number;
  /** Voids (`upstream.voidUrl`): each goes after its sale. */
  voids: VoidBacklog;
  alert: { afterMs: number; open: boolean };
  points: PointBacklog[];
  parked: ParkedOrder[];
  /** The replica that answered. */
  replica: string;
  /** The replica whose loop forwards (as it last reported), and when; null before any did. */
  leader: { replica: string; reportedAt: number } | null;
  /** The latest re-drives and re-forwards: who, how many, why. */
  audit: ForwardAuditEntry[];
  /** The last books check (`upstream.lookup`); null before the first. */
  books: BooksReport | null;
}

/** The live status the leader last wrote to the shared store; null before any, or when unreadable. */
export async function sharedLive(store: ForwardStore): Promise<LiveStatus | null> {
  return parseJsonAs(LiveStatus, await store.meta(LIVE_META_KEY));
}

/** The leader's view of the endpoints, or the configured list not yet tried. */
export function endpointsOf(config: UpstreamConfig, live: LiveStatus | null): EndpointHealth[] {
  return live?.endpoints ?? config.urls.map((url, i) => ({ url: redactSecrets(url), current: i === 0, up: null, lastOkAt: null, lastFailedAt: null, lastError: null, failures: 0 }));
}

/**
 * Builds the view from the shared store and a live status: this replica's own loop's when it leads,
 * else the one the leader last wrote.
 */
export async function forwardingView(store: ForwardStore, config: UpstreamConfig & { url: string }, live: LiveStatus | null, replica: string, now: number): Promise<ForwardingView> {
  const [backlog, forwarded, voids, points, parked, audit, books] = await Promise.all([
    store.backlog(now),
    store.forwardedCount(),
    store.voidBacklog(),
    store.byPoint(),
    store.parked(PARKED_SHOWN, null),
    store.auditLog(AUDIT_SHOWN),
    store.meta(BOOKS_META_KEY),
  ]);
  const statusUrl = statusUrlOf(config);
  return {
    upstream: redactSecrets(config.url),
    endpoints: endpointsOf(config, live),
    statusUrl: statusUrl ? redactSecrets(statusUrl) : null,
    body: config.body,
    concurrency: config.concurrency,
    state: live?.paused ? 'paused' : backlog.pending > 0 ? 'forwarding' : 'idle',
    paused: live?.paused ?? null,
    inFlight: live?.inFlight ?? 0,
    consecutiveFailures: live?.consecutiveFailures ?? 0,
    lastForwardedAt: live?.lastForwardedAt ?? null,
    lastError: live?.lastError ?? null,
    lastProbe: live?.lastProbe ?? null,
    backlog,
    forwarded,
    voids,
    alert: { afterMs: config.alertAfterMs, open: live?.alertOpen ?? false },
    points,
    parked,
    replica,
    leader: live ? { replica: live.replica, reportedAt: live.reportedAt } : null,
    audit,
    books: readBooksReport(books),
  };
}
