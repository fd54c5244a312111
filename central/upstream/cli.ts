import type { z } from 'zod';
import type { Command } from '../../lib/cli.js';
import { loadCentralConfig } from '../config.js';
import { exchange } from './exchange.js';
import { parseJsonAs } from './json.js';
import { Instant, RedriveReply, ReforwardReply } from './http.js';

/** The central HTTP base URL: `--central`, else the config's http host and port. */
function centralUrl(values: Record<string, unknown>): string {
  if (typeof values.central === 'string') return values.central.replace(/\/+$/, '');
  const { http } = loadCentralConfig(values.config as string | undefined);
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${http.port}`;
}

/**
 * POSTs one forwarding request to a running central as an operator (HOTPOT_TOKEN) and parses its
 * answer; on any failure it says why on stderr and gives the exit code instead.
 */
async function askCentral<S extends z.ZodType>(name: string, values: Record<string, unknown>, path: string, body: unknown, reply: S): Promise<z.output<S> | number> {
  const token = process.env.HOTPOT_TOKEN;
  if (!token) {
    process.stderr.write(`hotpot ${name}: set HOTPOT_TOKEN to an operator token (hotpot token create ${name} --role operator)\n`);
    return 2;
  }
  const base = centralUrl(values);
  const answer = await exchange({ method: 'POST', url: `${base}${path}`, body, timeoutMs: 10_000, headers: { authorization: `Bearer ${token}` } });
  if ('error' in answer) {
    process.stderr.write(`hotpot ${name}: central did not answer: ${answer.error}\n`);
    return 1;
  }
  if (answer.status === 404) {
    process.stderr.write(`hotpot ${name}: forwarding is not enabled on the central at ${base} (set upstream.url)\n`);
    return 1;
  }
  if (answer.status !== 200) {
    process.stderr.write(`hotpot ${name}: central answered ${answer.status}: ${answer.text.slice(0, 1000)}\n`);
    return 1;
  }
  const parsed = parseJsonAs(reply, answer.text);
  if (parsed === null) {
    process.stderr.write(`hotpot ${name}: central's answer is not a ${name} reply: ${answer.text.slice(0, 1000)}\n`);
    return 1;
  }
  return parsed;
}

const CENTRAL_OPTIONS: Command['options'] = { config: { type: 'string', short: 'c' }, central: { type: 'string' } };
const REACHING_CENTRAL = [
  "Central's address comes from --central (e.g. http://127.0.0.1:8080) or from the config file /",
  'HOTPOT_HTTP_* env; any replica will do. It signs in with an operator token from HOTPOT_TOKEN',
];

export const redriveCommand: Command = {
  name: 'redrive',
  summary: 'send parked orders and voids to the main server again (after fixing why it refused them)',
  usage: [
    'usage: hotpot redrive [--config FILE] [--central URL] [--point ID] [--id ORDER_OR_VOID_ID ...]',
    '',
    'Asks a running central to move parked orders and voids (the main server refused them) back to',
    "the forwarding queue; an order's id takes its parked voids too. With no --point or --id, every",
    'parked order and void.',
    ...REACHING_CENTRAL,
    '(make one: hotpot token create redrive --role operator).',
  ].join('\n'),
  options: {
    ...CENTRAL_OPTIONS,
    point: { type: 'string' },
    id: { type: 'string', multiple: true },
  },
  async run(values) {
    const body = {
      ...(values.point ? { pointId: values.point as string } : {}),
      ...(Array.isArray(values.id) && values.id.length ? { ids: values.id as string[] } : {}),
    };
    const reply = await askCentral('redrive', values, '/api/forwarding/redrive', body, RedriveReply);
    if (typeof reply === 'number') return reply;
    process.stdout.write(`re-drove ${reply.redriven} parked order(s) and ${reply.voids.length} parked void(s)\n`);
    if (reply.notParked.length) process.stdout.write(`not parked (left as they are): ${reply.notParked.join(', ')}\n`);
    return 0;
  },
};

export const reforwardCommand: Command = {
  name: 'reforward',
  summary: "send the main server again every order forwarded since a time (after restoring its database)",
  usage: [
    'usage: hotpot reforward --since TIME [--config FILE] [--central URL]',
    '',
    "After the main server's database was restored outside central (from a dump taken at TIME),",
    'asks a running central to forward again every order it forwarded at or after TIME. The main',
    'server records each sale once by its id, so sales it still holds are not doubled. TIME is ISO',
    '8601 with a zone (2026-12-05T03:00:00+04:00) or milliseconds since the epoch; give the time the',
    'dump STARTED. Audited (GET /api/forwarding, `audit`).',
    ...REACHING_CENTRAL,
    '(make one: hotpot token create reforward --role operator).',
  ].join('\n'),
  options: {
    ...CENTRAL_OPTIONS,
    since: { type: 'string' },
  },
  async run(values) {
    const raw = typeof values.since === 'string' ? values.since : undefined;
    const since = Instant.safeParse(raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : raw);
    if (!since.success) {
      process.stderr.write(`hotpot reforward: --since ${raw === undefined ? 'is required' : `"${raw}" is not a time`}: ISO 8601 with a zone (2026-12-05T03:00:00+04:00) or ms since the epoch\n`);
      return 2;
    }
    const reply = await askCentral('reforward', values, '/api/forwarding/reforward', { since: since.data }, ReforwardReply);
    if (typeof reply === 'number') return reply;
    process.stdout.write(`re-forwarding ${reply.reforwarded} order(s) forwarded since ${new Date(reply.since).toISOString()}\n`);
    return 0;
  },
};
