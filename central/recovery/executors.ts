/**
 * The I/O edge of the runbooks: commands (argv only, killed at their timeout), HTTP calls,
 * PostgreSQL queries and disk space. Each wait has a timeout that names what it waited for.
 */
import { statfs } from 'node:fs/promises';
import { describeCommandResult, runCommand } from '../../lib/command.js';
import { httpRequest } from '../../lib/http-client.js';
import { isTruthyValue, pgFirstValue } from '../../lib/postgres.js';
import type { Redact } from '../../lib/redact.js';
import { withTimeout } from '../../lib/timeout.js';
import type { ProbeSpec } from './config.js';
import { readJsonPath } from './json-path.js';

/** GET a JSON document; throws naming the URL when the status is not 200 or the body is not JSON. */
export async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const { status, body } = await httpRequest({ url, timeoutMs, redirects: 'follow' });
  if (status !== 200) throw new Error(`GET ${url} answered ${status}`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new Error(`GET ${url} did not answer JSON`);
  }
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
  const answer = await httpRequest({ url: probe.url, method: probe.method, headers: probe.headers, timeoutMs: probe.timeoutMs, redirects: 'follow' });
  const status = answer.status;
  const text = answer.body.toString('utf8');
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
        const result = await runCommand(probe, { redact: ctx.redact, tailChars: ctx.tailBytes });
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
