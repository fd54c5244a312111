import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { packageRoot } from '../../lib/paths.js';
import { withTimeout } from '../../lib/timeout.js';
import { waitForPort } from './net.js';
import { startChild, type Child } from './process.js';

/**
 * Plays the franchise's main server: records sales idempotently by sale id, answers
 * `{success, data, error}`, and on demand fails the way the real one does (500, 400,
 * `success: false`, down, hung). Runs in-process or as a child process that a test kills -9;
 * with a journal file its sales survive that and a restart. With `database` it keeps its sales
 * where the real one does, in PostgreSQL (table `sales`): a test can back that database up,
 * break it, restore it and delete a sale by hand, and the server answers from what is there.
 * Lookups: `GET /api/sales/{id}` (200 or 404) and `GET /api/sales?pos_id=&since=&until=` (the ids
 * of a point's sales recorded in that window).
 */

const RecordSaleBody = z.object({
  RecordSale: z.object({
    sale_id: z.string().min(1),
    node_id: z.union([z.string().min(1), z.number().int()]),
    pos_id: z.union([z.string().min(1), z.number().int()]),
    price_subunits: z.number().int().nonnegative(),
    items: z.array(z.object({ item_id: z.string().min(1), quantity: z.number().int().positive(), price_subunits: z.number().int().nonnegative() })).min(1),
    buyer_meta: z.unknown(),
  }),
});
const VoidSaleBody = z.object({
  VoidSale: z.object({ sale_id: z.string().min(1), void_id: z.string().min(1), reason: z.string().min(1), voided_at: z.number().int().nonnegative() }),
});
const PlainVoidBody = z.object({ id: z.string().min(1), orderId: z.string().min(1), reason: z.string().min(1), voidedAt: z.number().int() });
const PlainBody = z.object({ id: z.string().min(1), pointId: z.string(), seq: z.number().int(), total: z.number().int(), items: z.array(z.unknown()).min(1) });

/** `loseSilently`: answers success and records nothing (a main server that loses what it said it kept). */
export const BEHAVIOURS = ['error500', 'reject400', 'validationFailure', 'serverFailure', 'recordThenError500', 'hang', 'loseSilently'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

const Rule = z.object({
  behaviour: z.enum(BEHAVIOURS),
  /** Only these sale ids (default: every sale); a void obeys only a rule that names its void id. */
  ids: z.array(z.string()).optional(),
  /** Applies this many times, then lapses (default: until replaced). */
  times: z.number().int().positive().optional(),
});
export type Rule = z.infer<typeof Rule>;

const Control = z.object({
  rules: z.array(Rule).optional(),
  /** Every sale answer waits this long (ms). */
  delayMs: z.number().int().nonnegative().optional(),
  /** Down: every endpoint, `/api/status` included, answers 503. */
  down: z.boolean().optional(),
});
export type Control = z.infer<typeof Control>;

export interface RecordedSale {
  saleId: string;
  /** `<pointId>` and seq of the order behind the sale, for order checks. */
  pointId: string;
  seq: number;
  body: unknown;
  recordedAt: number;
}

/** The sales table a PostgreSQL-backed server keeps (created if missing). */
export const SALES_TABLE = `CREATE TABLE IF NOT EXISTS sales (
  sale_id text PRIMARY KEY,
  point_id text NOT NULL,
  seq integer NOT NULL,
  body jsonb NOT NULL,
  recorded_at bigint NOT NULL
)`;

export const SalesStats = z.object({
  /** POSTs to the sale endpoint, all of them. */
  posts: z.number().int(),
  postsById: z.record(z.string(), z.number().int()),
  /** Sales recorded: each id once, however often it was POSTed. */
  recorded: z.number().int(),
  /** POSTs of a sale already recorded (answered success without recording again). */
  duplicates: z.number().int(),
  /** POSTs whose Idempotency-Key header was missing or not the sale id. */
  badIdempotencyKey: z.number().int(),
  /** Sales in the order they were recorded. */
  sales: z.array(z.object({ saleId: z.string(), pointId: z.string(), seq: z.number().int() })),
  /** POSTs of voids, all of them. */
  voidPosts: z.number().int(),
  /** Voids refused because their sale was not recorded yet (answered `success: false`, to be sent again). */
  voidsBeforeSale: z.number().int(),
  /** Voids recorded, each once, in the order they were recorded (`body` as POSTed). */
  voids: z.array(z.object({ voidId: z.string(), saleId: z.string(), reason: z.string(), body: z.unknown() })),
});
export type SalesStats = z.infer<typeof SalesStats>;

export interface SalesServerOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Where sales are journaled (JSON lines), so they survive kill -9 and a restart. */
  journal?: string;
  /** When set, sale requests must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  path?: string;
  /** PostgreSQL URL: sales are kept in its `sales` table instead of in memory. */
  database?: string;
}

export const SALE_PATH = '/api/sales';

type Journal = { post: string } | { record: RecordedSale };

export class SalesServer {
  private server: Server | undefined;
  private rules: Rule[] = [];
  private delayMs = 0;
  private down = false;
  private readonly postsById = new Map<string, number>();
  private readonly recorded = new Map<string, RecordedSale>();
  private posts = 0;
  private duplicates = 0;
  private badIdempotencyKey = 0;
  private voidPosts = 0;
  private voidsBeforeSale = 0;
  private readonly voids = new Map<string, SalesStats['voids'][number]>();
  private readonly host: string;
  private readonly path: string;
  private boundPort = 0;
  private readonly pool: pg.Pool | undefined;

  constructor(private readonly options: SalesServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.path = options.path ?? SALE_PATH;
    this.pool = options.database ? new pg.Pool({ connectionString: options.database, max: 4, connectionTimeoutMillis: 5000, query_timeout: 10_000 }) : undefined;
    this.pool?.on('error', () => undefined); // a restore drops connections; the next query reconnects
  }

  get port(): number {
    return this.boundPort;
  }
  get baseUrl(): string {
    return `http://${this.host}:${this.boundPort}`;
  }
  /** The sale-recording endpoint (what central's `upstream.url` points at). */
  get url(): string {
    return `${this.baseUrl}${this.path}`;
  }
  get statusUrl(): string {
    return `${this.baseUrl}/api/status`;
  }

  async start(): Promise<this> {
    if (this.options.journal && existsSync(this.options.journal)) this.replay(this.options.journal);
    await this.pool?.query(SALES_TABLE);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => answer(res, 500, { success: false, data: null, error: `peer failed: ${String(error)}` }));
    });
    this.server = server;
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port ?? 0, this.host, () => resolve());
      }),
      5000,
      `the sales server to listen on ${this.host}:${this.options.port ?? 0}`,
    );
    this.boundPort = (server.address() as AddressInfo).port;
    return this;
  }

  control(control: Control): void {
    if (control.rules) this.rules = control.rules.map((rule) => ({ ...rule }));
    if (control.delayMs !== undefined) this.delayMs = control.delayMs;
    if (control.down !== undefined) this.down = control.down;
  }

  stats(): SalesStats {
    return {
      posts: this.posts,
      postsById: Object.fromEntries(this.postsById),
      recorded: this.recorded.size,
      duplicates: this.duplicates,
      badIdempotencyKey: this.badIdempotencyKey,
      sales: [...this.recorded.values()].map(({ saleId, pointId, seq }) => ({ saleId, pointId, seq })),
      voidPosts: this.voidPosts,
      voidsBeforeSale: this.voidsBeforeSale,
      voids: [...this.voids.values()],
    };
  }

  sale(saleId: string): RecordedSale | undefined {
    return this.recorded.get(saleId);
  }

  /** Every sale id the server holds now: its database's, when it has one (a restore or a delete changes them), else its memory's. */
  async heldSales(): Promise<string[]> {
    if (!this.pool) return [...this.recorded.keys()];
    return (await this.pool.query<{ sale_id: string }>('SELECT sale_id FROM sales')).rows.map((row) => row.sale_id);
  }

  async close(): Promise<void> {
    await this.pool?.end();
    const server = this.server;
    if (!server) return;
    await withTimeout(
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
      5000,
      'the sales server to close',
    );
  }

  private replay(file: string): void {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let entry: Journal;
      try {
        entry = JSON.parse(line) as Journal;
      } catch {
        continue; // a line cut short by kill -9
      }
      if ('post' in entry) this.countPost(entry.post);
      else this.recorded.set(entry.record.saleId, entry.record);
    }
  }

  private journal(entry: Journal): void {
    if (this.options.journal) appendFileSync(this.options.journal, `${JSON.stringify(entry)}\n`);
  }

  private countPost(saleId: string): void {
    this.posts++;
    this.postsById.set(saleId, (this.postsById.get(saleId) ?? 0) + 1);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer');
    const body = await readBody(req);
    if (url.pathname === '/_peer/stats') return answer(res, 200, this.stats());
    if (url.pathname === '/_peer/control' && req.method === 'POST') {
      const control = Control.safeParse(body);
      if (!control.success) return answer(res, 400, { error: control.error.message });
      this.control(control.data);
      return answer(res, 200, { ok: true });
    }
    if (this.down) return answer(res, 503, { success: false, data: null, error: 'service unavailable' });
    if (url.pathname === '/api/status' && req.method === 'GET') return answer(res, 200, { success: true, data: { status: 'ok' }, error: null });
    if (url.pathname === this.path && req.method === 'POST') return this.recordSale(req, res, body);
    if (req.method === 'GET' && (url.pathname === this.path || url.pathname.startsWith(`${this.path}/`))) return this.lookUp(req, res, url);
    return answer(res, 404, { success: false, data: null, error: `no such endpoint: ${req.method} ${url.pathname}` });
  }

  private async recordSale(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
      return answer(res, 401, { success: false, data: null, error: 'unauthorized' });
    }
    const voided = toVoid(body);
    if (voided) return this.recordVoid(req, res, voided);
    const sale = toSale(body);
    if ('error' in sale) return answer(res, sale.status, { success: false, data: null, error: sale.error });
    this.countPost(sale.saleId);
    this.journal({ post: sale.saleId });
    if (req.headers['idempotency-key'] !== sale.saleId) {
      this.badIdempotencyKey++;
      return answer(res, 400, { success: false, data: null, error: 'validation error: Idempotency-Key must equal the sale id' });
    }
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const behaviour = this.takeRule(sale.saleId);
    switch (behaviour) {
      case 'hang':
        return; // never answers: the client's timeout has to cope
      case 'error500':
        return answer(res, 500, { success: false, data: null, error: 'internal server error' });
      case 'reject400':
        return answer(res, 400, { success: false, data: null, error: 'bad request: sale rejected' });
      case 'validationFailure':
        return answer(res, 200, { success: false, data: null, error: { kind: 'validation', message: 'validation error: unknown item_id' } });
      case 'serverFailure':
        return answer(res, 200, { success: false, data: null, error: 'database unavailable, try later' });
      case 'loseSilently':
        return answer(res, 200, { success: true, data: { sale_id: sale.saleId }, error: null });
      default:
        break;
    }
    const record: RecordedSale = { saleId: sale.saleId, pointId: sale.pointId, seq: sale.seq, body, recordedAt: Date.now() };
    let fresh: boolean;
    try {
      fresh = await this.keep(record);
    } catch (error) {
      return answer(res, 500, { success: false, data: null, error: `database error: ${(error as Error).message}` });
    }
    if (fresh) this.recorded.set(sale.saleId, record);
    else this.duplicates++;
    if (behaviour === 'recordThenError500') return answer(res, 500, { success: false, data: null, error: 'recorded, then failed to answer' });
    return answer(res, 200, { success: true, data: { sale_id: sale.saleId }, error: null });
  }

  /** A void (`VoidSale` or the plain record): once by void id, and only of a sale recorded already. */
  private recordVoid(req: IncomingMessage, res: ServerResponse, voided: SalesStats['voids'][number]): void {
    this.voidPosts++;
    if (req.headers['idempotency-key'] !== voided.voidId) {
      this.badIdempotencyKey++;
      return answer(res, 400, { success: false, data: null, error: 'validation error: Idempotency-Key must equal the void id' });
    }
    const refused = this.takeRule(voided.voidId, true);
    if (refused === 'reject400') return answer(res, 400, { success: false, data: null, error: 'bad request: void rejected' });
    if (refused === 'validationFailure') return answer(res, 200, { success: false, data: null, error: 'validation error: unknown void reason' });
    if (refused === 'error500') return answer(res, 500, { success: false, data: null, error: 'internal server error' });
    if (!this.recorded.has(voided.saleId)) {
      this.voidsBeforeSale++;
      return answer(res, 200, { success: false, data: null, error: `sale ${voided.saleId} not recorded yet; send the sale first` });
    }
    if (this.voids.has(voided.voidId)) this.duplicates++;
    else this.voids.set(voided.voidId, voided);
    return answer(res, 200, { success: true, data: { void_id: voided.voidId }, error: null });
  }

  /** Records a sale once by id; false when it was already there. */
  private async keep(record: RecordedSale): Promise<boolean> {
    if (this.pool) {
      const inserted = await this.pool.query(
        'INSERT INTO sales (sale_id, point_id, seq, body, recorded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sale_id) DO NOTHING',
        [record.saleId, record.pointId, record.seq, JSON.stringify(record.body), record.recordedAt],
      );
      return inserted.rowCount === 1;
    }
    if (this.recorded.has(record.saleId)) return false;
    this.journal({ record });
    return true;
  }

  /** `GET /api/sales/{id}`: the sale or 404; `GET /api/sales?pos_id=&since=&until=`: the ids of a point's sales recorded in the window. */
  private async lookUp(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
      return answer(res, 401, { success: false, data: null, error: 'unauthorized' });
    }
    try {
      if (url.pathname !== this.path) {
        const saleId = decodeURIComponent(url.pathname.slice(this.path.length + 1));
        const sale = await this.held(saleId);
        return sale ? answer(res, 200, { success: true, data: { sale_id: sale.saleId, pos_id: sale.pointId }, error: null }) : answer(res, 404, { success: false, data: null, error: 'no such sale' });
      }
      const window = z.object({ pos_id: z.string().min(1), since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }) }).safeParse(Object.fromEntries(url.searchParams));
      if (!window.success) return answer(res, 400, { success: false, data: null, error: `bad request: ${window.error.message}` });
      const sales = await this.listed(window.data.pos_id, Date.parse(window.data.since), Date.parse(window.data.until));
      return answer(res, 200, { success: true, data: sales.map((sale) => ({ sale_id: sale.saleId, recorded_at: sale.recordedAt })), error: null });
    } catch (error) {
      return answer(res, 500, { success: false, data: null, error: `database error: ${(error as Error).message}` });
    }
  }

  private async held(saleId: string): Promise<Pick<RecordedSale, 'saleId' | 'pointId'> | undefined> {
    if (!this.pool) return this.recorded.get(saleId);
    const row = (await this.pool.query<{ sale_id: string; point_id: string }>('SELECT sale_id, point_id FROM sales WHERE sale_id = $1', [saleId])).rows[0];
    return row ? { saleId: row.sale_id, pointId: row.point_id } : undefined;
  }

  private async listed(pointId: string, since: number, until: number): Promise<Pick<RecordedSale, 'saleId' | 'recordedAt'>[]> {
    if (!this.pool) return [...this.recorded.values()].filter((sale) => sale.pointId === pointId && sale.recordedAt >= since && sale.recordedAt < until);
    const rows = await this.pool.query<{ sale_id: string; recorded_at: string }>('SELECT sale_id, recorded_at FROM sales WHERE point_id = $1 AND recorded_at >= $2 AND recorded_at < $3 ORDER BY recorded_at', [
      pointId,
      since,
      until,
    ]);
    return rows.rows.map((row) => ({ saleId: row.sale_id, recordedAt: Number(row.recorded_at) }));
  }

  /** The first rule for this sale (or, `named`, only one naming it), counted down. */
  private takeRule(saleId: string, named = false): Behaviour | undefined {
    const index = this.rules.findIndex((rule) => (rule.ids ? rule.ids.includes(saleId) : !named));
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    if (rule.times !== undefined && --rule.times === 0) this.rules.splice(index, 1);
    return rule.behaviour;
  }
}

/** The void a body carries (either shape), or null when it is not a void. */
function toVoid(body: unknown): SalesStats['voids'][number] | null {
  const tagged = VoidSaleBody.safeParse(body);
  if (tagged.success) return { voidId: tagged.data.VoidSale.void_id, saleId: tagged.data.VoidSale.sale_id, reason: tagged.data.VoidSale.reason, body };
  const plain = PlainVoidBody.safeParse(body);
  return plain.success ? { voidId: plain.data.id, saleId: plain.data.orderId, reason: plain.data.reason, body } : null;
}

/** The sale behind a body in either shape, or why it is not one (as the main server would say). */
function toSale(body: unknown): { saleId: string; pointId: string; seq: number } | { status: number; error: string } {
  const tagged = RecordSaleBody.safeParse(body);
  if (tagged.success) {
    const sale = tagged.data.RecordSale;
    const sum = sale.items.reduce((total, item) => total + item.quantity * item.price_subunits, 0);
    if (sum !== sale.price_subunits) return { status: 200, error: `validation error: price_subunits ${sale.price_subunits} != sum of items ${sum}` };
    const meta = z.object({ point_id: z.string(), order_number: z.string() }).safeParse(sale.buyer_meta);
    const seq = meta.success ? Number(meta.data.order_number.slice(meta.data.point_id.length + 1)) : 0;
    return { saleId: sale.sale_id, pointId: meta.success ? meta.data.point_id : String(sale.pos_id), seq };
  }
  const plain = PlainBody.safeParse(body);
  if (plain.success) return { saleId: plain.data.id, pointId: plain.data.pointId, seq: plain.data.seq };
  if (body && typeof body === 'object' && 'RecordSale' in body) {
    return { status: 200, error: `validation error: ${tagged.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  return { status: 400, error: 'bad request: not a sale' };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  if (!chunks.length) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The compiled child entry (npm run build puts it in dist/). */
export const SALES_SERVER_MAIN = join(packageRoot(), 'dist', 'test', 'peers', 'sales-server-main.js');

/** A sales server in its own process, controlled over HTTP, killed by PID. */
export class SalesServerChild {
  private child: Child | undefined;

  /** Without a journal the sales live in the child's memory only (gone with a kill). */
  constructor(readonly port: number, private readonly journal?: string, private readonly token?: string) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get url(): string {
    return `${this.baseUrl}${SALE_PATH}`;
  }

  /** Starts (or restarts, on the same port and journal) and waits until it listens. */
  async start(): Promise<this> {
    if (!existsSync(SALES_SERVER_MAIN)) throw new Error(`${SALES_SERVER_MAIN} is missing: run npm run build first (npm test does)`);
    const args = [SALES_SERVER_MAIN, '--port', String(this.port), ...(this.journal ? ['--journal', this.journal] : []), ...(this.token ? ['--token', this.token] : [])];
    this.child = startChild(process.execPath, args);
    await waitForPort('127.0.0.1', this.port, 'the sales server child', 15_000);
    return this;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async kill(): Promise<void> {
    await this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  async stats(): Promise<SalesStats> {
    const response = await withTimeout(fetch(`${this.baseUrl}/_peer/stats`), 5000, `the sales server's stats on port ${this.port}`);
    return SalesStats.parse(await response.json());
  }

  async control(control: Control): Promise<void> {
    const request = fetch(`${this.baseUrl}/_peer/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(control) });
    const response = await withTimeout(request, 5000, `the sales server's control on port ${this.port}`);
    if (response.status !== 200) throw new Error(`sales server control answered ${response.status}: ${await response.text()}`);
  }
}
