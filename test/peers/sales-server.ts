import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../../lib/paths.js';
import { withTimeout } from '../../lib/timeout.js';
import { waitForPort } from './net.js';
import { startChild, type Child } from './process.js';

/**
 * Plays the franchise's main server: records sales idempotently by sale id, answers
 * `{success, data, error}`, and on demand fails the way the real one does (500, 400,
 * `success: false`, down, hung). Runs in-process or as a child process that a test kills -9;
 * with a journal file its sales survive that and a restart.
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
const PlainBody = z.object({ id: z.string().min(1), pointId: z.string(), seq: z.number().int(), total: z.number().int(), items: z.array(z.unknown()).min(1) });

export const BEHAVIOURS = ['error500', 'reject400', 'validationFailure', 'serverFailure', 'recordThenError500', 'hang'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

const Rule = z.object({
  behaviour: z.enum(BEHAVIOURS),
  /** Only these sale ids (default: every sale). */
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
}

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
  private readonly host: string;
  private readonly path: string;
  private boundPort = 0;

  constructor(private readonly options: SalesServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.path = options.path ?? SALE_PATH;
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
    };
  }

  sale(saleId: string): RecordedSale | undefined {
    return this.recorded.get(saleId);
  }

  async close(): Promise<void> {
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
    return answer(res, 404, { success: false, data: null, error: `no such endpoint: ${req.method} ${url.pathname}` });
  }

  private async recordSale(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
      return answer(res, 401, { success: false, data: null, error: 'unauthorized' });
    }
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
      default:
        break;
    }
    if (this.recorded.has(sale.saleId)) {
      this.duplicates++;
    } else {
      const record: RecordedSale = { saleId: sale.saleId, pointId: sale.pointId, seq: sale.seq, body };
      this.journal({ record });
      this.recorded.set(sale.saleId, record);
    }
    if (behaviour === 'recordThenError500') return answer(res, 500, { success: false, data: null, error: 'recorded, then failed to answer' });
    return answer(res, 200, { success: true, data: { sale_id: sale.saleId }, error: null });
  }

  private takeRule(saleId: string): Behaviour | undefined {
    const index = this.rules.findIndex((rule) => !rule.ids || rule.ids.includes(saleId));
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    if (rule.times !== undefined && --rule.times === 0) this.rules.splice(index, 1);
    return rule.behaviour;
  }
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
