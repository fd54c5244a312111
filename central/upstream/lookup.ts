import { z } from 'zod';
import type { ConnectionPool } from '../../lib/http-client.js';
import { upstreamHeaders, type LookupConfig, type LookupPlaceholder, type UpstreamConfig } from './config.js';
import { parseAnswer, type Exchange } from './decisions.js';
import { exchange } from './exchange.js';

/** The window a books check covers: orders central received in [from, to). */
export interface BooksWindow {
  from: number;
  to: number;
}

/** `{placeholder}` → its value, URL-encoded; the config schema allows no others. */
export function fillTemplate(template: string, values: Partial<Record<LookupPlaceholder, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name as LookupPlaceholder] ?? ''));
}

/** The placeholders that describe one point and a window, with the point's ids on the main server. */
export function pointValues(pointId: string, window: BooksWindow, mapping: Pick<UpstreamConfig, 'nodeId' | 'points'>): Partial<Record<LookupPlaceholder, string>> {
  const point = mapping.points[pointId];
  return {
    pointId,
    posId: String(point?.posId ?? pointId),
    nodeId: String(point?.nodeId ?? mapping.nodeId ?? pointId),
    since: new Date(window.from).toISOString(),
    until: new Date(window.to).toISOString(),
    sinceMs: String(window.from),
    untilMs: String(window.to),
  };
}

/** A lookup the main server could not answer (no answer, a status we do not read, not the envelope). */
export class LookupError extends Error {}

/** Whether one sale is held: 200 (not `success: false`) yes, 404 or `success: false` no, anything else an error. */
export function saleHeld(answer: Exchange): boolean {
  if ('error' in answer) throw new LookupError(answer.error);
  if (answer.status === 404) return false;
  if (answer.status !== 200) throw new LookupError(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
  // A 200 that is not the envelope is the sale itself.
  return parseAnswer(answer.text)?.success ?? true;
}

/** The sale ids a list answer names: the envelope's `data`, each a string or an object carrying `idField`. */
export function listedSales(answer: Exchange, idField: string): Set<string> {
  if ('error' in answer) throw new LookupError(answer.error);
  if (answer.status !== 200) throw new LookupError(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
  const envelope = parseAnswer(answer.text);
  if (!envelope?.success) throw new LookupError(`not a {success: true, data: [...]} answer: ${answer.text.slice(0, 200)}`);
  const list = z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).safeParse(envelope.data);
  if (!list.success) throw new LookupError('the answer\'s data is not a list of sales');
  const ids = list.data.map((item) => (typeof item === 'string' ? item : item[idField]));
  if (ids.some((id) => typeof id !== 'string')) throw new LookupError(`a listed sale has no string ${idField}`);
  return new Set(ids as string[]);
}

/** Asks the main server which of a point's sales it holds, the way `upstream.lookup` says. */
export class SalesLookup {
  constructor(
    private readonly lookup: LookupConfig,
    private readonly upstream: UpstreamConfig,
    private readonly pool: ConnectionPool,
  ) {}

  /** The ones of `saleIds` (sales of `pointId` received in `window`) the main server holds. */
  async held(pointId: string, saleIds: readonly string[], window: BooksWindow): Promise<Set<string>> {
    const values = pointValues(pointId, window, this.upstream);
    if (this.lookup.listUrl) {
      const listed = listedSales(await this.get(fillTemplate(this.lookup.listUrl, values)), this.lookup.idField);
      return new Set(saleIds.filter((id) => listed.has(id)));
    }
    const saleUrl = this.lookup.saleUrl!;
    const held = new Set<string>();
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < saleIds.length) {
        const saleId = saleIds[next++]!;
        try {
          if (saleHeld(await this.get(fillTemplate(saleUrl, { ...values, saleId })))) held.add(saleId);
        } catch (error) {
          failed = true; // the other workers stop asking
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.lookup.concurrency, saleIds.length) }, worker));
    return held;
  }

  /** A list of a busy point's sales may be long: up to 16 MiB is read. */
  private get(url: string): Promise<Exchange> {
    return exchange({ url, headers: upstreamHeaders(this.upstream), timeoutMs: this.lookup.timeoutMs, pool: this.pool, maxBytes: 16 * 1024 * 1024 });
  }
}
