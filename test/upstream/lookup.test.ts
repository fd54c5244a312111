import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../lib/http-client.js';
import { ConfigError } from '../../lib/config.js';
import { loadCentralConfig } from '../../central/config.js';
import { booksVerdict, nextDailyRun } from '../../central/upstream/books.js';
import { upstreamConfigSchema } from '../../central/upstream/config.js';
import { fillTemplate, listedSales, LookupError, pointValues, saleHeld, SalesLookup } from '../../central/upstream/lookup.js';
import { SalesServer } from '../peers/sales-server.js';
import { makeOrders } from './orders.js';

describe('upstream.lookup: config, answers and the daily time', () => {
  it('takes exactly one of saleUrl and listUrl, each a URL with known placeholders', () => {
    const lookup = loadCentralConfig(undefined, { HOTPOT_UPSTREAM_LOOKUP_SALE_URL: 'https://main.example/api/sales/{saleId}' }).upstream.lookup;
    expect(lookup).toEqual({ saleUrl: 'https://main.example/api/sales/{saleId}', idField: 'sale_id', at: '04:30', windowMs: 172_800_000, settleMs: 60_000, concurrency: 4, timeoutMs: 10_000 });
    expect(loadCentralConfig(undefined, {}).upstream.lookup).toBeUndefined();
    const problems = (upstream: unknown) => {
      try {
        loadCentralConfig(undefined, {}, { upstream });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ lookup: {} }).join('\n')).toMatch(/upstream\.lookup.*exactly one of saleUrl and listUrl/);
    expect(problems({ lookup: { saleUrl: 'https://main.example/api/sales' } }).join('\n')).toMatch(/upstream\.lookup\.saleUrl.*must contain \{saleId\}/);
    expect(problems({ lookup: { listUrl: 'https://main.example/sales?pos={pos}' } }).join('\n')).toMatch(/upstream\.lookup\.listUrl.*placeholders must be among/);
    expect(problems({ lookup: { listUrl: 'ftp://main.example/{pointId}' } }).join('\n')).toMatch(/upstream\.lookup\.listUrl.*http/);
    expect(problems({ lookup: { saleUrl: 'https://m/{saleId}', at: '25:00' } }).join('\n')).toMatch(/upstream\.lookup\.at.*HH:MM/);
  });

  it("fills a template with a point's ids on the main server and the window, URL-encoded", () => {
    const mapping = upstreamConfigSchema.parse({ nodeId: 7, points: { 'tbilisi-01': { posId: 'pos 1' } } });
    const values = pointValues('tbilisi-01', { from: Date.UTC(2026, 11, 5), to: Date.UTC(2026, 11, 6) }, mapping);
    expect(fillTemplate('https://m/sales?pos={posId}&node={nodeId}&since={since}&until={untilMs}&p={pointId}', values)).toBe(
      'https://m/sales?pos=pos%201&node=7&since=2026-12-05T00%3A00%3A00.000Z&until=1796515200000&p=tbilisi-01',
    );
  });

  it('reads a sale answer and a list answer as the main server gives them, and refuses what it cannot read', () => {
    expect(saleHeld({ status: 200, text: '{"success":true,"data":{"sale_id":"x"}}' })).toBe(true);
    expect(saleHeld({ status: 200, text: '{"success":false,"error":"no such sale"}' })).toBe(false);
    expect(saleHeld({ status: 404, text: '' })).toBe(false);
    expect(() => saleHeld({ status: 503, text: 'down' })).toThrow(LookupError);
    expect(() => saleHeld({ error: 'connect ECONNREFUSED' })).toThrow('ECONNREFUSED');
    expect(listedSales({ status: 200, text: '{"success":true,"data":["a",{"sale_id":"b"}]}' }, 'sale_id')).toEqual(new Set(['a', 'b']));
    expect(() => listedSales({ status: 200, text: '{"success":true,"data":{"sales":[]}}' }, 'sale_id')).toThrow('not a list');
    expect(() => listedSales({ status: 200, text: '{"success":true,"data":[{"id":"b"}]}' }, 'sale_id')).toThrow('no string sale_id');
    expect(() => listedSales({ status: 200, text: '<html>' }, 'sale_id')).toThrow(LookupError);
  });

  it("runs daily at HH:MM in central's time zone", () => {
    const now = Date.UTC(2026, 11, 5, 22, 0); // 02:00 on the 6th in Tbilisi (UTC+4)
    expect(new Date(nextDailyRun('04:30', 'Asia/Tbilisi', now)).toISOString()).toBe('2026-12-06T00:30:00.000Z');
    expect(new Date(nextDailyRun('01:00', 'Asia/Tbilisi', now)).toISOString()).toBe('2026-12-06T21:00:00.000Z');
  });

  it("judges a point's check from its counts", () => {
    const point = { pointId: 'a', checked: 5, missing: 0, resent: 0, stillMissing: 0, sample: [], error: null };
    expect(booksVerdict(point)).toBe('equal');
    expect(booksVerdict({ ...point, missing: 2, resent: 2 })).toBe('repaired');
    expect(booksVerdict({ ...point, missing: 2, resent: 2, stillMissing: 1 })).toBe('differs');
    expect(booksVerdict({ ...point, error: 'HTTP 503' })).toBe('unchecked');
  });
});

describe('asking a real main server which sales it holds', () => {
  const servers: SalesServer[] = [];
  const pool = new ConnectionPool(4);
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(() => pool.close());

  it('by sale and by list give the same answer', async () => {
    const sales = await new SalesServer({ token: 'lookup-secret' }).start();
    servers.push(sales);
    const orders = makeOrders('batumi-09', 3);
    for (const order of orders.slice(0, 2)) {
      const body = JSON.stringify(order);
      const answer = await fetch(sales.url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'idempotency-key': order.id, authorization: 'Bearer lookup-secret' } });
      expect(answer.status).toBe(200);
    }
    const upstream = upstreamConfigSchema.parse({ url: sales.url, token: 'lookup-secret' });
    const window = { from: Date.now() - 60_000, to: Date.now() + 60_000 };
    const ids = orders.map((order) => order.id);
    const bySale = new SalesLookup({ ...lookupDefaults(), saleUrl: `${sales.url}/{saleId}` }, upstream, pool);
    const byList = new SalesLookup({ ...lookupDefaults(), listUrl: `${sales.url}?pos_id={posId}&since={since}&until={until}` }, upstream, pool);
    const expected = new Set(ids.slice(0, 2));
    expect(await bySale.held('batumi-09', ids, window)).toEqual(expected);
    expect(await byList.held('batumi-09', ids, window)).toEqual(expected);
    const unauthorized = new SalesLookup({ ...lookupDefaults(), saleUrl: `${sales.url}/{saleId}` }, upstreamConfigSchema.parse({ url: sales.url }), pool);
    await expect(unauthorized.held('batumi-09', ids, window)).rejects.toThrow('HTTP 401');
  });
});

function lookupDefaults() {
  return { idField: 'sale_id', at: '04:30', windowMs: 86_400_000, settleMs: 1000, concurrency: 2, timeoutMs: 5000 };
}
