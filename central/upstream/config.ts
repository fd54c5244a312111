import { z } from 'zod';
import { PointId } from '../../sync/schemas.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
/** The main server's ids may be numbers or strings; we send them as configured. */
const upstreamId = z.union([z.string().min(1).max(128), z.number().int().nonnegative()]);

export const BODY_SHAPES = ['plain', 'recordSale'] as const;
export const VOID_BODY_SHAPES = ['plain', 'voidSale'] as const;

/** Placeholders a lookup URL may carry; each is replaced URL-encoded. */
export const LOOKUP_PLACEHOLDERS = ['saleId', 'pointId', 'posId', 'nodeId', 'since', 'until', 'sinceMs', 'untilMs'] as const;
export type LookupPlaceholder = (typeof LOOKUP_PLACEHOLDERS)[number];

/** An http(s) URL with `{placeholders}`; `needs` must appear in it. */
function urlTemplate(needs?: LookupPlaceholder) {
  return z
    .string()
    .refine((template) => !needs || template.includes(`{${needs}}`), `must contain {${needs}}`)
    .refine((template) => {
      const unknown = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).filter((name) => !(LOOKUP_PLACEHOLDERS as readonly string[]).includes(name));
      return unknown.length === 0;
    }, `placeholders must be among ${LOOKUP_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`)
    .refine((template) => httpUrl.safeParse(template.replace(/\{\w+\}/g, 'x')).success, 'must be an http:// or https:// URL');
}

/**
 * `upstream.lookup`: how to ask the main server which sales it holds, for the daily books check.
 * Exactly one of `saleUrl` (one GET per sale: 200 and not `success: false` = held, 404 or
 * `success: false` = missing) or `listUrl` (one GET per point and window: the envelope's `data`
 * lists the sale ids it holds, as strings or objects carrying `idField`).
 */
export const lookupConfigSchema = z
  .strictObject({
    saleUrl: urlTemplate('saleId').optional(),
    listUrl: urlTemplate().optional(),
    /** The sale id's field when `listUrl`'s `data` holds objects. */
    idField: z.string().min(1).max(64).default('sale_id'),
    /** When the daily check runs, `HH:MM` in central's timeZone. */
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour), e.g. "04:30"').default('04:30'),
    /** Orders central received this far back are checked. */
    windowMs: z.number().int().min(60_000).max(31 * 86_400_000).default(2 * 86_400_000),
    /** How long a check waits for the sales it re-sent to be forwarded before asking again. */
    settleMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /** Lookups in flight at most (`saleUrl`). */
    concurrency: z.number().int().min(1).max(32).default(4),
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  })
  .refine((lookup) => Boolean(lookup.saleUrl) !== Boolean(lookup.listUrl), { message: 'set exactly one of saleUrl and listUrl' });
export type LookupConfig = z.output<typeof lookupConfigSchema>;
export type BodyShape = (typeof BODY_SHAPES)[number];
export type VoidBodyShape = (typeof VOID_BODY_SHAPES)[number];

/** `upstream`: forwarding committed orders to the main server. No `url`, no forwarding. */
export const upstreamConfigSchema = z
  .strictObject({
    /** The main server's sale-recording endpoint (POST): the one-endpoint shorthand of `urls`. Absent (both): forwarding is off. */
    url: httpUrl.optional(),
    /** The main server's endpoints in order, tried in turn: sticky while one works, the first again after `primaryRetryMs`. */
    urls: z.array(httpUrl).min(1).max(10).optional(),
    primaryRetryMs: z.number().int().min(1000).max(86_400_000).default(60_000),
    /** Polled while forwarding pauses itself; default: `/api/status` on the url's host. */
    statusUrl: httpUrl.optional(),
    /** Sent as `Authorization: Bearer <token>`. */
    token: z.string().min(1).optional(),
    /** Extra headers on every request (e.g. an API key header the main server wants). */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name'), z.string().max(4096)).default({}),
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    /** Requests in flight at most (each point still sends one at a time, in seq order). */
    concurrency: z.number().int().min(1).max(256).default(8),
    /** `recordSale`: the main server's tagged `{"RecordSale": {...}}` form; `plain`: the order record as JSON. */
    body: z.enum(BODY_SHAPES).default('recordSale'),
    /** Where voids are POSTed (each after its sale); default: `url`. */
    voidUrl: httpUrl.optional(),
    /** `voidSale`: the main server's tagged `{"VoidSale": {sale_id, void_id, reason, voided_at}}` form; `plain`: the void record as JSON. */
    voidBody: z.enum(VOID_BODY_SHAPES).default('voidSale'),
    /** `node_id` for every point not listed in `points`; absent: the point id. */
    nodeId: upstreamId.optional(),
    /** Per point `node_id` / `pos_id` on the main server; `pos_id` defaults to the point id. */
    points: z.record(PointId, z.strictObject({ nodeId: upstreamId.optional(), posId: upstreamId.optional() })).default({}),
    backoff: z
      .strictObject({
        baseMs: z.number().int().min(10).default(1000),
        maxMs: z.number().int().min(10).default(300_000),
      })
      .prefault({})
      .refine((b) => b.maxMs >= b.baseMs, { message: 'maxMs must be at least baseMs', path: ['maxMs'] }),
    /** After this many transient failures in a row, forwarding pauses and polls `statusUrl` until it answers 200. */
    pauseAfterFailures: z.number().int().min(1).default(5),
    probeEveryMs: z.number().int().min(50).default(5000),
    /** An incident opens when the oldest pending order has waited this long. */
    alertAfterMs: z.number().int().min(100).default(15 * 60_000),
    /** How often the backlog alert and the parked-order incidents are reconciled. */
    checkEveryMs: z.number().int().min(50).default(10_000),
    /** A `success: false` answer whose error matches this (case-insensitive) is permanent: the order is parked. */
    permanentErrorPattern: z
      .string()
      .refine(isValidRegex, 'must be a valid regular expression')
      .default('valid|malformed|missing|required|schema|parse|unknown (item|field|node|pos)'),
    /** How the books check asks the main server what it holds; absent: no books check. */
    lookup: lookupConfigSchema.optional(),
  })
  .superRefine((upstream, ctx) => {
    if (upstream.url !== undefined && upstream.urls !== undefined) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'set upstream.url or upstream.urls, not both (upstream.url is the one-endpoint shorthand of upstream.urls)' });
  })
  // `urls` is the list forwarding uses ([] when off); `url` stays the first, as the status URL and the views name it.
  .transform(({ url, urls, ...rest }) => {
    const list = urls ?? (url ? [url] : []);
    return { ...rest, url: list[0], urls: list };
  })
  .prefault({});

export type UpstreamConfig = z.output<typeof upstreamConfigSchema>;

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'i');
    return true;
  } catch {
    return false;
  }
}

/** The status endpoints polled while paused: configured, or `/api/status` on each endpoint's host. */
export function statusUrlsOf(config: UpstreamConfig): string[] {
  if (config.statusUrl) return [config.statusUrl];
  return [...new Set(config.urls.map((url) => new URL('/api/status', url).href))];
}

/** The status endpoint shown: configured, or the first endpoint's. */
export function statusUrlOf(config: UpstreamConfig): string | undefined {
  return statusUrlsOf(config)[0];
}

/** Headers on every upstream request: auth and configured extras. */
export function upstreamHeaders(config: UpstreamConfig): Record<string, string> {
  return { ...config.headers, ...(config.token ? { authorization: `Bearer ${config.token}` } : {}) };
}
