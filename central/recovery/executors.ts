/**
 * The I/O edge of the runbooks: commands (argv only, killed at their timeout), HTTP calls,
 * PostgreSQL queries and disk space. Each wait has a timeout that names what it waited for.
 */
import { spawn } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import pg from 'pg';
import { withTimeout } from '../../lib/timeout.js';
import type { ProbeSpec } from './config.js';
import { formatArgv } from './describe.js';
import { readJsonPath } from './json-path.js';

export type Redact = (text: string) => string;

export interface CommandSpec {
  argv: readonly [string, ...string[]] | readonly string[];
  env?: Record<string, string>;
  timeoutMs: number;
  cwd?: string;
}

export interface CommandResult {
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** The last bytes of stdout+stderr, secrets redacted. */
  output: string;
  /** Set when the program could not be started at all. */
  error?: string;
}

/** Keeps the last `limit` characters (plus a margin so a secret cut at the edge is still matched). */
class OutputTail {
  private text = '';
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    if (this.text.length > 2 * (this.limit + 1024)) this.text = this.text.slice(-(this.limit + 1024));
  }
  read(redact: Redact): string {
    return redact(this.text.slice(-(this.limit + 1024))).slice(-this.limit);
  }
}

/**
 * Runs argv (never through a shell). At `timeoutMs` the process it started gets SIGKILL.
 * Resolves, never rejects: a failure to start is reported in `error`.
 */
export async function runCommand(spec: CommandSpec, redact: Redact, tailBytes = 4000): Promise<CommandResult> {
  const [program, ...args] = spec.argv;
  const started = Date.now();
  const tail = new OutputTail(tailBytes);
  const child = spawn(program!, args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: false,
  });
  child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, spec.timeoutMs);
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error: error.message }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  // A grandchild may still hold the pipes open; take what arrived and stop reading.
  if (!outcome.error) {
    await withTimeout(new Promise<void>((resolve) => (child.stdout.readableEnded && child.stderr.readableEnded ? resolve() : child.once('close', () => resolve()))), 1000, `${program} output to close`).catch(() => undefined);
  }
  child.stdout.destroy();
  child.stderr.destroy();
  const result: CommandResult = {
    pid: child.pid,
    exitCode: outcome.code,
    signal: outcome.signal,
    timedOut,
    durationMs: Date.now() - started,
    output: tail.read(redact),
  };
  if (outcome.error) result.error = redact(outcome.error);
  return result;
}

export function describeCommandResult(spec: CommandSpec, result: CommandResult, redact: Redact): string {
  const what = redact(`\`${formatArgv(spec.argv)}\``);
  if (result.error) return `${what} could not start: ${result.error}`;
  if (result.timedOut) return `${what} timed out after ${spec.timeoutMs} ms and was killed (SIGKILL)`;
  return `${what} exited ${result.exitCode ?? `by ${result.signal}`} in ${result.durationMs} ms`;
}

export interface HttpCall {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
}

const MAX_HTTP_BODY = 1024 * 1024;

/** One HTTP request; resolves with the status and (up to 1 MB of) the body text. */
export async function httpRequest(call: HttpCall): Promise<{ status: number; text: string }> {
  const what = `${call.method} ${call.url}`;
  const headers: Record<string, string> = { ...call.headers };
  let body: string | undefined;
  if (call.body !== undefined) {
    body = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
    headers['content-type'] ??= 'application/json';
  }
  return withTimeout(
    (async () => {
      const response = await fetch(call.url, { method: call.method, headers, body, signal: AbortSignal.timeout(call.timeoutMs) });
      const text = (await response.text()).slice(0, MAX_HTTP_BODY);
      return { status: response.status, text };
    })(),
    call.timeoutMs + 500,
    what,
  );
}

/** GET a JSON document; throws naming the URL when the status is not 200 or the body is not JSON. */
export async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const { status, text } = await httpRequest({ url, method: 'GET', timeoutMs });
  if (status !== 200) throw new Error(`GET ${url} answered ${status}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`GET ${url} did not answer JSON`);
  }
}

/** Runs one query and returns the first column of the first row. */
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

export function isTruthyValue(value: unknown, min: number | undefined): boolean {
  if (min !== undefined) return Number(value) >= min;
  if (typeof value === 'string') return value !== '' && value !== '0' && value.toLowerCase() !== 'f' && value.toLowerCase() !== 'false';
  return Boolean(value);
}

/** Free space on the filesystem holding `path`, in percent. */
export async function freeDiskPercent(path: string): Promise<number> {
  const stats = await withTimeout(statfs(path), 5000, `statfs ${path}`);
  return stats.blocks === 0 ? 100 : (stats.bavail / stats.blocks) * 100;
}

export interface ProbeOutcome {
  ok: boolean;
  detail: string;
  exitCode?: number | null;
  output?: string;
}

export interface ProbeContext {
  redact: Redact;
  tailBytes: number;
  /** Evaluates `{type: 'chain'}` probes (the procedure's chain monitor). */
  chain?: () => Promise<ProbeOutcome>;
}

async function runHttpProbe(probe: Extract<ProbeSpec, { type: 'http' }>): Promise<ProbeOutcome> {
  const { status, text } = await httpRequest({ url: probe.url, method: probe.method, headers: probe.headers, timeoutMs: probe.timeoutMs });
  const where = `${probe.method} ${probe.url}`;
  if (!probe.expectStatus.includes(status)) return { ok: false, detail: `${where} answered ${status}` };
  if (probe.expectBody !== undefined && !text.includes(probe.expectBody)) {
    return { ok: false, detail: `${where} answered ${status} without ${JSON.stringify(probe.expectBody)} in the body` };
  }
  if (probe.expectJson) {
    let value: unknown;
    try {
      value = readJsonPath(JSON.parse(text), probe.expectJson.path);
    } catch {
      return { ok: false, detail: `${where} did not answer JSON` };
    }
    const { path, equals } = probe.expectJson;
    if (value === undefined) return { ok: false, detail: `${where}: no ${path} in the JSON` };
    if (equals !== undefined && value !== equals) return { ok: false, detail: `${where}: ${path} is ${JSON.stringify(value)}, expected ${JSON.stringify(equals)}` };
  }
  return { ok: true, detail: `${where} answered ${status}` };
}

/** Runs one probe; never throws (a thrown error is a failed probe whose detail says why). */
export async function runProbe(probe: ProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  try {
    switch (probe.type) {
      case 'http':
        return await runHttpProbe(probe);
      case 'postgres': {
        const value = await pgFirstValue(probe.url, probe.query, probe.timeoutMs);
        const ok = isTruthyValue(value, probe.min);
        return { ok, detail: `${probe.name ?? probe.query} → ${JSON.stringify(value) ?? 'no rows'}${ok ? '' : probe.min !== undefined ? ` (< ${probe.min})` : ' (not true)'}` };
      }
      case 'disk': {
        const free = await freeDiskPercent(probe.path);
        return { ok: free >= probe.minFreePercent, detail: `${probe.path} ${free.toFixed(1)}% free (need ${probe.minFreePercent}%)` };
      }
      case 'command': {
        const result = await runCommand(probe, ctx.redact, ctx.tailBytes);
        return { ok: !result.timedOut && result.exitCode === probe.expectExit, detail: describeCommandResult(probe, result, ctx.redact), exitCode: result.exitCode, output: result.output };
      }
      case 'chain':
        if (!ctx.chain) return { ok: false, detail: 'no chain settings for this procedure' };
        return await ctx.chain();
    }
  } catch (error) {
    return { ok: false, detail: ctx.redact(`${probe.name ?? probe.type} probe failed: ${(error as Error).message}`) };
  }
}

/** Runs probes in order and stops at the first failure (later ones often depend on it). */
export async function runProbes(probes: readonly ProbeSpec[], ctx: ProbeContext): Promise<ProbeOutcome> {
  const details: string[] = [];
  const outputs: string[] = [];
  let exitCode: number | null | undefined;
  for (const probe of probes) {
    const outcome = await runProbe(probe, ctx);
    details.push(outcome.detail);
    if (outcome.output) outputs.push(outcome.output);
    if (outcome.exitCode !== undefined) exitCode = outcome.exitCode;
    if (!outcome.ok) return { ok: false, detail: details.join('; '), exitCode, output: outputs.join('\n') };
  }
  return { ok: true, detail: details.join('; '), exitCode, output: outputs.join('\n') };
}
