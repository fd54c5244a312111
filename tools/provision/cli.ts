import { resolve } from 'node:path';
import { z } from 'zod';
import { CommandError, type Command } from '../../lib/cli.js';
import { formatIssues } from '../../lib/config.js';
import { DEFAULT_SERVER_NAMES, provisionCa } from './ca.js';
import { provisionPoint } from './point.js';

/** Where central.sh keeps the franchise CA on the central host (root only, 0700). */
const DEFAULT_CA_DIR = '/etc/hotpot/ca';

const ServerName = z
  .string()
  .regex(/^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$|^[0-9.]+$|^[0-9a-fA-F:]+$/, 'must be a host name or an IP address');

const ProvisionCaArgs = z.object({
  out: z.string().min(1).default(DEFAULT_CA_DIR),
  'server-name': z.array(ServerName).default([]),
});

const ProvisionPointArgs = z.object({
  pointId: z.string({ error: 'is required: hotpot provision-point <pointId>' }),
  out: z.string().min(1).optional(),
  'broker-url': z.string({ error: 'is required, e.g. --broker-url mqtts://mqtt.example.ge:8883' }).regex(/^(mqtts?|ssl|tcp|wss?):\/\/[^/]+/, 'must be an mqtt(s):// URL'),
  'ca-dir': z.string().min(1).default(DEFAULT_CA_DIR),
  cert: z.boolean().default(false),
  'passwd-file': z.string().min(1).optional(),
  rotate: z.boolean().default(false),
  'server-cert': z.array(ServerName).default([]),
});

/** Bad arguments: one line naming each option, exit 2 (usage). */
function parseArgs<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CommandError(formatIssues(parsed.error.issues).map((line) => `--${line}`).join('; '), 2);
  return parsed.data;
}

/** Any failure of the work itself (a file that cannot be written, openssl) as one line, not a stack. */
async function oneLine<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new CommandError((error as Error).message);
  }
}

export const provisionCaCommand: Command = {
  name: 'provision-ca',
  summary: "make the franchise CA and the broker's TLS certificate",
  usage: [
    'usage: hotpot provision-ca [--out DIR] [--server-name NAME ...]',
    '',
    `Makes the franchise CA (ca.crt, ca.key) and a broker certificate (server.crt, server.key) in DIR`,
    `(default ${DEFAULT_CA_DIR}). The broker certificate names ${DEFAULT_SERVER_NAMES.join(' and ')} plus every`,
    '--server-name (the DNS names or IPs the points dial). Existing files are never overwritten:',
    'delete server.crt and server.key to issue a new broker certificate. Keep ca.key secret.',
  ].join('\n'),
  options: { out: { type: 'string' }, 'server-name': { type: 'string', multiple: true } },
  async run(values) {
    const args = parseArgs(ProvisionCaArgs, values);
    const dir = resolve(args.out);
    const { files, created } = await oneLine(() => provisionCa(dir, args['server-name']));
    process.stdout.write(
      [
        created.length ? `made ${created.join(' and ')} certificate(s) in ${dir}` : `nothing to do: ${dir} already holds the CA and the broker certificate`,
        `  CA certificate (give to every box):  ${files.caCert}`,
        `  CA key (keep secret):                ${files.caKey}`,
        `  broker certificate and key:          ${files.serverCert} ${files.serverKey}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};

export const provisionPointCommand: Command = {
  name: 'provision-point',
  summary: "issue a point's broker credentials and its agent.json",
  usage: [
    'usage: hotpot provision-point <pointId> --broker-url URL [--out DIR] [--ca-dir DIR] [--cert]',
    '                              [--passwd-file FILE] [--rotate] [--server-cert NAME ...]',
    '',
    "Writes the point's files into DIR (default ./<pointId>):",
    '  agent.json        its config with a new random password (mode 0600; install on the box)',
    "  mosquitto.passwd  the password-file line for central's Mosquitto",
    '  ca.crt            the franchise CA certificate (from --ca-dir, default /etc/hotpot/ca)',
    '  client.crt/.key   with --cert: a client certificate signed by the franchise CA',
    "  https.crt/.key    with --server-cert NAME...: the box's HTTPS certificate (http.tls) for its LAN",
    '                    names and addresses (e.g. --server-cert pos.local --server-cert 192.168.1.10),',
    '                    so tablets that trust the franchise CA run the staff page as an app',
    '--passwd-file FILE also puts the line into that password file, replacing the point\'s old one:',
    "Mosquitto's (then reload Mosquitto) or central's embedded broker's broker.passwordFile (default",
    '<dataDir>/broker.passwd; central reads it again by itself; made, with its directory, when missing).',
    'It is checked before anything is written.',
    'A point already provisioned (its agent.json in DIR, or its line in --passwd-file) needs --rotate:',
    "a new password, the rest of DIR's agent.json kept, and its client certificate kept (--cert issues",
    'a new one).',
  ].join('\n'),
  options: {
    out: { type: 'string' },
    'broker-url': { type: 'string' },
    'ca-dir': { type: 'string' },
    cert: { type: 'boolean' },
    'passwd-file': { type: 'string' },
    rotate: { type: 'boolean' },
    'server-cert': { type: 'string', multiple: true },
  },
  async run(values, positionals) {
    if (positionals.length > 1) throw new CommandError(`expected one pointId, got ${positionals.length}: ${positionals.join(' ')}`, 2);
    const args = parseArgs(ProvisionPointArgs, { ...values, pointId: positionals[0] });
    const point = await oneLine(() => provisionPoint({
      pointId: args.pointId,
      outDir: resolve(args.out ?? args.pointId),
      brokerUrl: args['broker-url'],
      caDir: resolve(args['ca-dir']),
      clientCert: args.cert,
      passwordFile: args['passwd-file'],
      rotate: args.rotate,
      serverCertNames: args['server-cert'],
    }));
    process.stdout.write(
      [
        `provisioned ${args.pointId} in ${point.outDir}:`,
        ...Object.values(point.files).map((file) => `  ${file}`),
        point.passwordFileUpdated
          ? `${point.passwordFileCreated ? 'created' : 'updated'} ${point.passwordFileUpdated}: reload Mosquitto (systemctl reload mosquitto); central's embedded broker reads it by itself`
          : `add ${point.files.passwordLine}'s line to the broker's password file (then reload Mosquitto)`,
        `on the box: sudo install/agent.sh --point-dir <copy of ${point.outDir}>`,
        ...(point.warning ? [`warning: ${point.warning}`] : []),
        '',
      ].join('\n'),
    );
    return 0;
  },
};
