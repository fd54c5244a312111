import pg from 'pg';
import { z } from 'zod';
import { withTimeout } from './timeout.js';

/** A PostgreSQL connection URL in config (the database a runbook watches, the one a backup dumps). */
export const pgUrlSchema = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection URL');

/** Runs one query on a connection of its own and returns the first column of the first row. */
export async function pgFirstValue(url: string, query: string, timeoutMs: number): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, statement_timeout: timeoutMs });
  client.on('error', () => undefined); // a dropped connection surfaces through the awaited calls
  try {
    await withTimeout(client.connect(), timeoutMs + 500, 'postgres connect');
    const result = await withTimeout(client.query({ text: query, rowMode: 'array' }), timeoutMs + 500, 'postgres query');
    const row = result.rows[0] as unknown[] | undefined;
    return row?.[0];
  } finally {
    await withTimeout(client.end(), 2000, 'postgres disconnect').catch(() => undefined);
  }
}

/** Whether a query's answer counts as "yes": at least `min` when given, else true, 't', non-zero, non-empty. */
export function isTruthyValue(value: unknown, min: number | undefined): boolean {
  if (min !== undefined) return Number(value) >= min;
  if (typeof value === 'string') return value !== '' && value !== '0' && value.toLowerCase() !== 'f' && value.toLowerCase() !== 'false';
  return Boolean(value);
}
