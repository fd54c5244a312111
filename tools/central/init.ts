import { chmodSync, chownSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { centralConfigSchema } from '../../central/config.js';
import { CommandError, type Command } from '../../lib/cli.js';
import { formatIssues } from '../../lib/config.js';
import { runbookInputSchema, runbookSections, type RunbookInput, type RunbookSections } from './runbook.js';

export const DEFAULT_CENTRAL_CONFIG = '/etc/hotpot/central.json';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const objectAt = (parent: Json, key: string): Json => (isObject(parent[key]) ? parent[key] : {});

/**
 * Lays the runbook sections over an existing config: its other keys, procedures, contacts and
 * channels stay. A key the config already holds with another value is a conflict (an edit made
 * by hand), replaced only with `force`.
 */
export function mergeRunbook(existing: Json, sections: RunbookSections, force = false): { config: Json; conflicts: string[] } {
  const conflicts: string[] = [];
  const put = (target: Json, key: string, value: unknown, path: string) => {
    if (target[key] !== undefined && !isDeepStrictEqual(target[key], value)) {
      conflicts.push(path);
      if (!force) return;
    }
    target[key] = value;
  };
  const config: Json = structuredClone(existing);
  const recovery = (config.recovery = objectAt(config, 'recovery'));
  const procedures = (recovery.procedures = objectAt(recovery, 'procedures'));
  for (const [name, procedure] of Object.entries(sections.procedures)) put(procedures, name, procedure, `recovery.procedures.${name}`);
  const backups = (config.backups = objectAt(config, 'backups'));
  for (const [key, value] of Object.entries(sections.backups)) put(backups, key, value, `backups.${key}`);
  const notify = (config.notify = objectAt(config, 'notify'));
  const contacts = Array.isArray(notify.contacts) ? (notify.contacts as unknown[]) : [];
  const named = new Set(contacts.filter(isObject).map((contact) => contact.name));
  notify.contacts = [...contacts, ...sections.notify.contacts.filter((contact) => !named.has(contact.name))];
  if (sections.notify.channels.chat) put((notify.channels = objectAt(notify, 'channels')), 'chat', sections.notify.channels.chat, 'notify.channels.chat');
  if (sections.notify.publicUrl) put(notify, 'publicUrl', sections.notify.publicUrl, 'notify.publicUrl');
  return { config, conflicts };
}

function readConfigFile(file: string): Json {
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CommandError(`${file} is not readable JSON (${(error as Error).message})`);
  }
  if (!isObject(raw)) throw new CommandError(`${file} must hold a JSON object`);
  return raw;
}

/** Replaces `file` in one rename, keeping its mode and owner (a new file: 0600, it holds secrets). */
function writeConfigFile(file: string, text: string): void {
  const before = existsSync(file) ? statSync(file) : undefined;
  const staged = `${file}.${process.pid}.new`;
  writeFileSync(staged, text, { mode: 0o600 });
  try {
    chmodSync(staged, before ? before.mode & 0o777 : 0o600);
    if (before && (before.uid !== process.getuid?.() || before.gid !== process.getgid?.())) chownSync(staged, before.uid, before.gid);
    renameSync(staged, file);
  } catch (error) {
    rmSync(staged, { force: true });
    throw error;
  }
}

export interface InitOutcome {
  file: string;
  changed: boolean;
  /** Keys that held other values: replaced (force) or left alone. */
  conflicts: string[];
}

/** `hotpot central init`: writes the runbook's procedures, backups and notify skeleton into `file`. */
export function initCentralConfig(file: string, input: RunbookInput, force = false): InitOutcome {
  const parsedInput = runbookInputSchema.safeParse(input);
  if (!parsedInput.success) throw new CommandError(formatIssues(parsedInput.error.issues).map(asOption).join('; '), 2);
  const existing = readConfigFile(file);
  const { config, conflicts } = mergeRunbook(existing, runbookSections(parsedInput.data), force);
  if (conflicts.length && !force) {
    throw new CommandError(`${file} already has other ${conflicts.join(', ')} (edited by hand?): nothing written; pass --force to replace them`);
  }
  const valid = centralConfigSchema.safeParse(config);
  if (!valid.success) throw new CommandError(`the config would not be valid, nothing written: ${formatIssues(valid.error.issues, centralConfigSchema).join('; ')}`);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return { file, changed: false, conflicts };
  writeConfigFile(file, text);
  return { file, changed: true, conflicts };
}

const OPTION_OF: Record<string, string> = { chainNodes: 'chain-node', chainRestoreArgv: 'chain-restore' };

/** `statusUrl: …` → `--status-url: …`: problems named as the options the person typed. */
function asOption(line: string): string {
  return line.replace(/^[A-Za-z]+/, (key) => `--${OPTION_OF[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/** `NAME=URL` → a chain node. */
function chainNode(value: string): { name: string; url: string } {
  const at = value.indexOf('=');
  if (at <= 0) throw new CommandError(`--chain-node ${value}: expected NAME=URL, e.g. n1=http://10.0.1.1:3001`, 2);
  return { name: value.slice(0, at), url: value.slice(at + 1) };
}

function argvOption(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new CommandError(`--chain-restore must be a JSON array of words, e.g. '["chainctl","restore","--node","{node}","--from-height","{height}"]'`, 2);
  }
}

const InitArgs = z.object({
  config: z.string().min(1).default(DEFAULT_CENTRAL_CONFIG),
  force: z.boolean().default(false),
});

export const centralInitCommand: Command = {
  name: 'central init',
  summary: "write the runbook's procedures, backups and notify skeleton into central's config",
  usage: [
    'usage: hotpot central init --status-url URL --service UNIT --database-url URL --chain-node NAME=URL...',
    '                           [--service-host [USER@]HOST] [--database-service UNIT] [--chain-service UNIT]',
    '                           [--chain-restore JSON-ARGV] [--chain-height-path P] [--chain-hash-path P]',
    '                           [--chain-block-hash-path P] [--ssh-user USER] [--chat-webhook URL]',
    '                           [--public-url URL] [--backup-dir DIR] [--config FILE] [--force]',
    '',
    `Adds to central's config (default ${DEFAULT_CENTRAL_CONFIG}; made when missing, mode 0600):`,
    '  recovery.procedures main-server, database and chain: the runbook\'s stages (restart, failover,',
    '    rebuild; diagnose, restart, approved restore; node restarts, restore from the last common block)',
    '  backups: nightly pg_dump at 02:00 (central\'s timeZone) kept 7 days and verified, central.json at 02:30',
    '  notify: contacts "administrator" and "on-duty" for the default ladder, and the chat webhook if given',
    'Other keys stay. A section edited by hand is left alone unless --force. The same input gives the',
    'same file: running it again changes nothing. Units run through systemctl on this host need the',
    'polkit rule install/central.sh writes (hotpot central polkit prints it); --service-host runs them over',
    'ssh (BatchMode) on the main server; database and chain hosts other than this one are reached as',
    '--ssh-user (default hotpot). The chain paths are dot paths into the nodes\' JSON (default height,',
    'hash, and hash of /api/blockchain/block/:height). Then: hotpot central check --config FILE.',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    'status-url': { type: 'string' },
    service: { type: 'string' },
    'service-host': { type: 'string' },
    'database-url': { type: 'string' },
    'database-service': { type: 'string' },
    'chain-node': { type: 'string', multiple: true },
    'chain-service': { type: 'string' },
    'chain-restore': { type: 'string' },
    'chain-height-path': { type: 'string' },
    'chain-hash-path': { type: 'string' },
    'chain-block-hash-path': { type: 'string' },
    'ssh-user': { type: 'string' },
    'chat-webhook': { type: 'string' },
    'public-url': { type: 'string' },
    'backup-dir': { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(values, positionals) {
    if (positionals.length) throw new CommandError(`unexpected ${positionals.join(' ')}`, 2);
    const args = InitArgs.parse({ config: values.config, force: values.force });
    const text = (key: string) => values[key] as string | undefined;
    const input = Object.fromEntries(
      Object.entries({
        statusUrl: text('status-url'),
        service: text('service'),
        serviceHost: text('service-host'),
        databaseUrl: text('database-url'),
        databaseService: text('database-service'),
        chainNodes: ((values['chain-node'] as string[] | undefined) ?? []).map(chainNode),
        chainService: text('chain-service'),
        chainRestoreArgv: argvOption(text('chain-restore')),
        chainHeightPath: text('chain-height-path'),
        chainHashPath: text('chain-hash-path'),
        chainBlockHashPath: text('chain-block-hash-path'),
        sshUser: text('ssh-user'),
        chatWebhook: text('chat-webhook'),
        publicUrl: text('public-url'),
        backupDir: text('backup-dir'),
      }).filter(([, value]) => value !== undefined),
    ) as RunbookInput;
    const file = resolve(args.config);
    const outcome = initCentralConfig(file, input, args.force);
    process.stdout.write(
      [
        outcome.changed ? `wrote the main-server, database and chain procedures, backups and notify contacts into ${file}` : `nothing to change: ${file} already holds them`,
        ...(outcome.conflicts.length ? [`replaced (--force): ${outcome.conflicts.join(', ')}`] : []),
        `next: hotpot central check --config ${file}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
