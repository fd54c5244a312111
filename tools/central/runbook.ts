/**
 * The franchise runbook's three failures (main server, database, chain), its backups and its
 * escalation contacts, as central config sections made from a few facts about the site. Pure: the
 * same input always gives the same sections (install/central.sh runs it on every install).
 */
import { z } from 'zod';
import type { centralConfigSchema } from '../../central/config.js';
import { argvSchema } from '../../lib/command.js';
import { pgUrlSchema } from '../../lib/postgres.js';

type CentralInput = z.input<typeof centralConfigSchema>;
type Procedure = NonNullable<NonNullable<CentralInput['recovery']>['procedures']>[string];
type Stage = Procedure['stages'][number];
type Step = Stage['steps'][number];
type ProbeSpec = Procedure['probe']['checks'][number];

const unitName = z.string().regex(/^[A-Za-z0-9:_.@-]{1,200}$/, 'a systemd unit name such as blockchain_project or postgresql');
/** An ssh destination: `host` or `user@host`. */
const sshDestination = z.string().regex(/^([a-z_][a-z0-9_-]{0,31}@)?[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'an ssh destination such as hotpot@10.0.0.5');
const sshUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name such as hotpot');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const runbookInputSchema = z.strictObject({
  /** The main server's health, e.g. http://10.0.0.5/api/status. */
  statusUrl: httpUrl,
  /** The main server's systemd unit. */
  service: unitName,
  /** The main server's host as ssh reaches it, when it is not this host. */
  serviceHost: sshDestination.optional(),
  databaseUrl: pgUrlSchema,
  /** The database's unit; default `postgresql` when the database is on this host, none otherwise. */
  databaseService: unitName.optional(),
  chainNodes: z.array(z.strictObject({ name: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, 'node names are letters, digits, ".", "_" or "-"'), url: httpUrl })).min(1, 'give at least one --chain-node NAME=URL').max(12),
  /** Where the chain status JSON keeps the height and the last hash, and a block's JSON its hash (dot paths). */
  chainHeightPath: z.string().min(1).optional(),
  chainHashPath: z.string().min(1).optional(),
  chainBlockHashPath: z.string().min(1).optional(),
  /** The chain node's unit on each node's host (reached over ssh unless it is this host). */
  chainService: unitName.optional(),
  /** The chain's own restore tool: `{node}`, `{url}`, `{height}` and `{hash}` are filled in. */
  chainRestoreArgv: argvSchema.optional(),
  /** Who ssh logs in as on the database and chain hosts. */
  sshUser: sshUser.default('hotpot'),
  /** The team chat's incoming webhook: the ladder's first rung. */
  chatWebhook: httpUrl.optional(),
  /** How people reach central's HTTP (the ack links in messages). */
  publicUrl: httpUrl.optional(),
  /** Where backups go: it must be writable by central's unit (ReadWritePaths: /var/lib/hotpot). */
  backupDir: z.string().regex(/^\//, 'an absolute path').default('/var/lib/hotpot/backups'),
});
export type RunbookInput = z.input<typeof runbookInputSchema>;

/** Every user table counts: a restored or verified database that has none is not the main server's. */
export const TABLES_QUERY = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')";
/** Non-interactive: a missing key or host key fails at once instead of waiting for a prompt. */
const SSH = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
/**
 * The runbook's schedule: nightly dumps (02:00), a weekly full one (Sunday 03:00) and a monthly
 * archive (the 1st, 04:00), in central's time zone; kept 7 days locally (weekly 4 weeks, monthly
 * 12 months), checked within 26 h. Off-site targets are the site's own: added by hand.
 */
const RUNBOOK_BACKUPS = {
  postgresSchedules: { daily: { cron: '0 2 * * *' }, weekly: { cron: '0 3 * * 0' }, monthly: { cron: '0 4 1 * *' } },
  localDays: 7,
  configSchedules: { daily: { cron: '30 2 * * *' }, monthly: { cron: '30 4 1 * *' } },
  configDays: 30,
  maxVerifiedAgeHours: 26,
};

function onHost(host: string | undefined, argv: string[]): [string, ...string[]] {
  return (host ? [...SSH, host, ...argv] : argv) as [string, ...string[]];
}

function isLoopback(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

function mainServer(input: z.output<typeof runbookInputSchema>): Procedure {
  const host = input.serviceHost;
  const status: ProbeSpec = { type: 'http', name: 'main server status', url: input.statusUrl };
  const backUp = { probes: [status], timeoutMs: 120_000, intervalMs: 2000 };
  return {
    description: 'Runbook: the main server is down. Restart it, then fail over, then rebuild.',
    probe: { every: '30s', failAfter: 2, checks: [status] },
    budget: { restarts: 3, window: '15m' },
    incident: { title: 'Main server down', severity: 'critical' },
    stages: [
      {
        name: 'immediate',
        window: { from: '0s', to: '5m' },
        attempts: 2,
        steps: [
          { type: 'probe', id: 'status', title: 'service status', probes: [{ type: 'command', argv: onHost(host, ['systemctl', 'status', '--no-pager', input.service]) }] },
          { type: 'probe', id: 'journal', title: 'last 200 log lines', probes: [{ type: 'command', argv: onHost(host, ['journalctl', '-u', input.service, '-n', '200', '--no-pager']) }] },
          { type: 'command', id: 'restart', argv: onHost(host, ['systemctl', 'restart', input.service]), timeoutMs: 90_000, restart: true, after: backUp },
        ],
      },
      {
        name: 'failover',
        window: { from: '5m', to: '15m' },
        steps: [
          { type: 'notify', id: 'still-down', severity: 'critical', text: 'The main server is still down after its restarts: fail over to the backup server (docs/OPERATIONS.md, "Fail the main server over").' },
          { type: 'manual', id: 'failover', text: 'Start the backup server, point the main server\'s name (DNS, or upstream.urls) at it, check its /api/status, then confirm here (docs/OPERATIONS.md, "Fail the main server over").' },
        ],
      },
      {
        name: 'rebuild',
        window: { from: '1h', to: '4h' },
        steps: [{ type: 'manual', id: 'rebuild-host', text: 'Rebuild the main server\'s host: docs/OPERATIONS.md, "Rebuild a failed host".' }],
      },
    ],
  };
}

function database(input: z.output<typeof runbookInputSchema>): Procedure {
  const url = new URL(input.databaseUrl);
  const local = isLoopback(input.databaseUrl);
  const dbService = input.databaseService ?? (local ? 'postgresql' : undefined);
  const dbHost = local ? undefined : `${input.sshUser}@${url.hostname}`;
  const appHost = input.serviceHost;
  const tables: ProbeSpec = { type: 'postgres', name: 'user tables', url: input.databaseUrl, query: TABLES_QUERY, min: 1 };
  const diagnose: Step[] = [{ type: 'probe', id: 'ready', title: 'pg_isready', probes: [{ type: 'command', argv: ['pg_isready', '-h', url.hostname || 'localhost', '-p', url.port || '5432', '-t', '5'] }] }];
  if (dbService) {
    diagnose.push({ type: 'command', id: 'restart-database', argv: onHost(dbHost, ['systemctl', 'restart', dbService]), timeoutMs: 120_000, restart: true, after: { timeoutMs: 120_000, intervalMs: 2000 } });
  }
  return {
    description: 'Runbook: the database is down. Diagnose and restart it; then, approved, restore the newest verified backup.',
    probe: { every: '30s', failAfter: 2, checks: [{ type: 'postgres', name: 'database', url: input.databaseUrl }, ...(local ? [{ type: 'disk' as const, name: 'database disk', path: '/var/lib/postgresql', minFreePercent: 10 }] : [])] },
    budget: { restarts: 3, window: '15m' },
    incident: { title: 'Database down', severity: 'critical' },
    stages: [
      { name: 'diagnose', window: { from: '0s', to: '15m' }, steps: diagnose },
      {
        name: 'data-recovery',
        window: { from: '15m', to: '60m' },
        approval: true,
        steps: [
          { type: 'command', id: 'stop-app', argv: onHost(appHost, ['systemctl', 'stop', input.service]), timeoutMs: 90_000 },
          { type: 'restore-backup', id: 'restore', url: input.databaseUrl },
          { type: 'command', id: 'start-app', argv: onHost(appHost, ['systemctl', 'start', input.service]), timeoutMs: 90_000, after: { probes: [{ type: 'http', name: 'main server status', url: input.statusUrl }], timeoutMs: 120_000, intervalMs: 2000 } },
          { type: 'probe', id: 'integrity', onFailure: 'next-stage', probes: [tables] },
        ],
      },
    ],
  };
}

function chain(input: z.output<typeof runbookInputSchema>): Procedure {
  const nodeHost = (url: string) => (isLoopback(url) ? undefined : `${input.sshUser}@${new URL(url).hostname}`);
  const nodes = input.chainNodes.map((node) => ({
    name: node.name,
    url: node.url,
    ...(input.chainService ? { restart: { argv: onHost(nodeHost(node.url), ['systemctl', 'restart', input.chainService]), timeoutMs: 90_000 } } : {}),
  }));
  const immediate: Step[] = input.chainService
    ? [{ type: 'chain-restart', id: 'restart-nodes' }, { type: 'wait', id: 'converge', timeoutMs: 300_000, intervalMs: 5000 }]
    : [{ type: 'notify', id: 'restart-by-hand', severity: 'critical', text: 'Chain nodes are down, stalled or disagree, and no chain service is configured to restart them: restart the faulty nodes by hand.' }];
  const recovery: Step[] = input.chainRestoreArgv
    ? [{ type: 'chain-restore', id: 'restore-chain', argv: input.chainRestoreArgv }, { type: 'wait', id: 'converge-after-restore', timeoutMs: 600_000, intervalMs: 5000 }]
    : [{ type: 'manual', id: 'restore-chain', text: 'Consensus is still lost: restore every node from the last block they all agree on (the dry run of this procedure shows how it is found) with the chain\'s own tool, then confirm here.' }];
  return {
    description: 'Runbook: blockchain nodes down, stalled or out of consensus. Restart them in order; then restore from the last common block.',
    probe: { every: '30s', failAfter: 3, checks: [{ type: 'chain', name: 'chain nodes' }] },
    budget: { restarts: 3, window: '15m' },
    incident: { title: 'Blockchain out of consensus', severity: 'critical' },
    chain: {
      nodes,
      ...(input.chainHeightPath ? { heightPath: input.chainHeightPath } : {}),
      ...(input.chainHashPath ? { hashPath: input.chainHashPath } : {}),
      ...(input.chainBlockHashPath ? { blockHashPath: input.chainBlockHashPath } : {}),
    },
    stages: [
      { name: 'immediate', window: { from: '0s', to: '15m' }, steps: immediate },
      { name: 'data-recovery', window: { from: '15m', to: '60m' }, steps: recovery },
    ],
  };
}

export interface RunbookSections {
  procedures: Record<'main-server' | 'database' | 'chain', Procedure>;
  backups: NonNullable<CentralInput['backups']>;
  notify: { contacts: { name: string }[]; channels: { chat?: { webhookUrl: string } }; publicUrl?: string };
}

/** The sections `hotpot central init` writes for this site. */
export function runbookSections(raw: RunbookInput): RunbookSections {
  const input = runbookInputSchema.parse(raw);
  return {
    procedures: { 'main-server': mainServer(input), database: database(input), chain: chain(input) },
    backups: {
      dir: input.backupDir,
      postgres: {
        url: input.databaseUrl,
        schedules: RUNBOOK_BACKUPS.postgresSchedules,
        targets: [{ type: 'local', retentionDays: RUNBOOK_BACKUPS.localDays }],
        verify: { checks: [{ name: 'user tables', query: TABLES_QUERY, min: 1 }] },
      },
      config: { paths: ['/etc/hotpot/central.json'], schedules: RUNBOOK_BACKUPS.configSchedules, targets: [{ type: 'local', retentionDays: RUNBOOK_BACKUPS.configDays }] },
      maxVerifiedAgeHours: RUNBOOK_BACKUPS.maxVerifiedAgeHours,
    },
    // The default ladders page these two (chat 0, e-mail 5, SMS 15, call 30 min): give them addresses.
    notify: {
      contacts: [{ name: 'administrator' }, { name: 'on-duty' }],
      channels: input.chatWebhook ? { chat: { webhookUrl: input.chatWebhook } } : {},
      ...(input.publicUrl ? { publicUrl: input.publicUrl } : {}),
    },
  };
}
