import type { Command } from '../../lib/cli.js';
import { loadCentralConfig } from '../config.js';
import { exchange } from './exchange.js';
import { RedriveReply } from './http.js';

/** The central HTTP base URL: `--central`, else the config's http host and port. */
function centralUrl(values: Record<string, unknown>): string {
  if (typeof values.central === 'string') return values.central.replace(/\/+$/, '');
  const { http } = loadCentralConfig(values.config as string | undefined);
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${http.port}`;
}

function parseReply(text: string): RedriveReply | null {
  try {
    const parsed = RedriveReply.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const redriveCommand: Command = {
  name: 'redrive',
  summary: 'send parked orders to the main server again (after fixing why it refused them)',
  usage: [
    'usage: hotpot redrive [--config FILE] [--central URL] [--point ID] [--id ORDER_ID ...]',
    '',
    'Asks a running central to move parked orders (the main server refused them) back to the',
    "forwarding queue. With no --point or --id, every parked order. Central's address comes from",
    '--central (e.g. http://127.0.0.1:8080) or from the config file / HOTPOT_HTTP_* env. It signs in',
    'with an operator token from HOTPOT_TOKEN (make one: hotpot token create redrive --role operator).',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    central: { type: 'string' },
    point: { type: 'string' },
    id: { type: 'string', multiple: true },
  },
  async run(values) {
    const base = centralUrl(values);
    const body = {
      ...(values.point ? { pointId: values.point as string } : {}),
      ...(Array.isArray(values.id) && values.id.length ? { ids: values.id as string[] } : {}),
    };
    const token = process.env.HOTPOT_TOKEN;
    if (!token) {
      process.stderr.write('hotpot redrive: set HOTPOT_TOKEN to an operator token (hotpot token create redrive --role operator)\n');
      return 2;
    }
    const answer = await exchange({ method: 'POST', url: `${base}/api/forwarding/redrive`, body, timeoutMs: 10_000, headers: { authorization: `Bearer ${token}` } });
    if ('error' in answer) {
      process.stderr.write(`hotpot redrive: central did not answer: ${answer.error}\n`);
      return 1;
    }
    if (answer.status === 404) {
      process.stderr.write(`hotpot redrive: forwarding is not enabled on the central at ${base} (set upstream.url)\n`);
      return 1;
    }
    if (answer.status !== 200) {
      process.stderr.write(`hotpot redrive: central answered ${answer.status}: ${answer.text.slice(0, 1000)}\n`);
      return 1;
    }
    const reply = parseReply(answer.text);
    if (!reply) {
      process.stderr.write(`hotpot redrive: central's answer is not a redrive reply: ${answer.text.slice(0, 1000)}\n`);
      return 1;
    }
    process.stdout.write(`re-drove ${reply.redriven} parked order(s)\n`);
    if (reply.notParked.length) process.stdout.write(`not parked (left as they are): ${reply.notParked.join(', ')}\n`);
    return 0;
  },
};
