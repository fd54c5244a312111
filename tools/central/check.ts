import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BACKUP_KINDS, type KindConfig } from '../../central/backups/config.js';
import { TIERS } from '../../central/backups/plan.js';
import { loadCentralConfig, type CentralConfig } from '../../central/config.js';
import { ChainMonitor } from '../../central/recovery/chain-monitor.js';
import { runProbes, type ProbeOutcome } from '../../central/recovery/executors.js';
import { initialState, renderPlan, type Procedure } from '../../central/recovery/index.js';
import { channelConfigured, CHANNELS } from '../../central/notify/config.js';
import type { Command } from '../../lib/cli.js';
import { runCommand, succeeded } from '../../lib/command.js';
import { createRedactor, urlPasswords, type Redact } from '../../lib/redact.js';
import { DEFAULT_CENTRAL_CONFIG } from './init.js';
import { parseAllowList, UNIT_ALLOW_LIST_FILE } from './polkit.js';
import { managedUnits, recoveryArgvs } from './units.js';

/** What one look at the configured world found; `problems` counts what needs a person. */
export interface CheckReport {
  text: string;
  problems: number;
}

/** Probes a procedure's health checks once, as its engine would (chain checks through a chain monitor). */
export async function probeProcedure(procedure: Procedure, redact: Redact, tailBytes: number): Promise<ProbeOutcome> {
  const monitor = procedure.chain ? new ChainMonitor(procedure.chain, procedure.probe.every) : undefined;
  return runProbes(procedure.probe.checks, { redact, tailBytes, ...(monitor ? { chain: () => monitor.probe() } : {}) });
}

function allUrls(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(allUrls);
  if (value && typeof value === 'object') return Object.values(value).flatMap(allUrls);
  return [];
}

/** The polkit allow-list install/central.sh wrote, or null when there is none. */
function readAllowList(file: string): Set<string> | null {
  return existsSync(file) ? parseAllowList(readFileSync(file, 'utf8')) : null;
}

function unitLines(config: CentralConfig, allowListFile: string): { lines: string[]; problems: number } {
  const units = managedUnits(config.recovery);
  if (units.length === 0) return { lines: ['systemd units: none managed by the procedures'], problems: 0 };
  const allowed = readAllowList(allowListFile);
  let problems = 0;
  const lines = units.map(({ unit, verb, host }) => {
    if (host) return `  ${verb} ${unit} on ${host} over ssh: that host must let its user do it (hotpot central polkit --host ${host} prints the rule)`;
    if (allowed?.has(`${verb} ${unit}`)) return `  ${verb} ${unit}: allowed by the polkit rule`;
    problems += 1;
    return `  ${verb} ${unit}: NOT in ${allowListFile}: re-run install/central.sh (or install the rule from hotpot central polkit)`;
  });
  return { lines: ['systemd units the procedures change:', ...lines], problems };
}

async function programLine(program: string, why: string): Promise<{ line: string; ok: boolean }> {
  const result = await runCommand({ argv: [program, '--version'], timeoutMs: 10_000 });
  if (succeeded(result)) return { line: `  ${program}: ${result.output.trim().split('\n')[0]}`, ok: true };
  return { line: `  ${program}: MISSING (${why}; apt-get install postgresql-client)`, ok: false };
}

function writable(dir: string): boolean {
  // The backup dir is made on the first backup: then its parent must take it.
  const target = existsSync(dir) ? dir : dirname(dir);
  try {
    accessSync(target, constants.W_OK);
    return statSync(target).isDirectory();
  } catch {
    return false;
  }
}

/** `daily "0 2 * * *", monthly "0 4 1 * *" kept 365 d; local 7 d, s3 30 d (daily, weekly)` */
function describeKind(kind: KindConfig): string {
  const tiers = TIERS.flatMap((tier) => (kind.schedules[tier] ? [`${tier} "${kind.schedules[tier].cron}" kept ≥ ${kind.schedules[tier].retentionDays} d`] : []));
  const targets = kind.targets.map((t) => (t.type === 'local' ? `local ${t.retentionDays} d` : `${t.name} ${t.retentionDays} d${t.tiers.length < TIERS.length ? ` (${t.tiers.join(', ')})` : ''}`));
  return `${tiers.length ? tiers.join(', ') : 'on demand'}; ${targets.join(', ')}${kind.drill ? `; restore drill "${kind.drill.cron}"` : ''}`;
}

async function backupLines(config: CentralConfig): Promise<{ lines: string[]; problems: number }> {
  const { backups } = config;
  const kinds = BACKUP_KINDS.filter((kind) => backups[kind]);
  if (kinds.length === 0) return { lines: ['backups: NONE configured (hotpot central init writes the runbook\'s)'], problems: 1 };
  const lines = [`backups into ${backups.dir} (schedules in ${config.timeZone}):`, ...kinds.map((kind) => `  ${kind}: ${describeKind(backups[kind]!)}`)];
  let problems = 0;
  if (!writable(backups.dir)) {
    problems += 1;
    lines.push(`  ${backups.dir}: NOT writable by this user (central's unit may write only under /var/lib/hotpot)`);
  }
  if (backups.postgres) {
    for (const program of ['pg_dump', 'pg_restore']) {
      const found = await programLine(program, 'postgres backups and restores need it');
      lines.push(found.line);
      if (!found.ok) problems += 1;
    }
  }
  return { lines, problems };
}

function notifyLines(config: CentralConfig): { lines: string[]; problems: number } {
  const channels = CHANNELS.filter((channel) => channelConfigured(config.notify.channels, channel));
  const contacts = config.notify.contacts.map((contact) => contact.name);
  if (channels.length === 0) {
    return { lines: [`notify: NO channel configured: nobody is paged (contacts: ${contacts.join(', ') || 'none'}; set notify.channels)`], problems: 1 };
  }
  return { lines: [`notify: ${channels.join(', ')} configured; contacts: ${contacts.join(', ') || 'none'}`], problems: 0 };
}

/** `hotpot central check`: every target probed once, what each procedure would do, backups, paging, units. */
export async function checkCentral(config: CentralConfig, options: { allowListFile?: string; now?: number } = {}): Promise<CheckReport> {
  const redact = createRedactor([...config.recovery.secrets, ...urlPasswords(allUrls(config.recovery.procedures)), ...urlPasswords(allUrls(config.backups))]);
  const now = options.now ?? Date.now();
  const sections: string[] = [];
  let problems = 0;
  const procedures = Object.entries(config.recovery.procedures);
  if (procedures.length === 0) {
    problems += 1;
    sections.push('procedures: NONE: central watches nothing (hotpot central init writes the runbook\'s three)');
  }
  const outcomes = await Promise.all(procedures.map(([, procedure]) => probeProcedure(procedure, redact, config.recovery.outputTailBytes)));
  procedures.forEach(([name, procedure], i) => {
    const outcome = outcomes[i]!;
    if (!outcome.ok) problems += 1;
    const state = { ...initialState(name), health: outcome.ok ? ('up' as const) : ('down' as const), lastProbe: { at: now, ok: outcome.ok, detail: outcome.detail } };
    sections.push(`${name}: ${outcome.ok ? 'UP' : 'DOWN'} — ${redact(outcome.detail)}\n${redact(renderPlan(name, procedure, state, now))}`);
  });
  const parts = [unitLines(config, options.allowListFile ?? UNIT_ALLOW_LIST_FILE), await backupLines(config), notifyLines(config)];
  for (const part of parts) {
    problems += part.problems;
    sections.push(part.lines.join('\n'));
  }
  const programs = new Set(recoveryArgvs(config.recovery).map((argv) => argv[0]!));
  sections.push(`programs the procedures run: ${[...programs].sort().join(', ') || 'none'}`);
  sections.push(problems ? `${problems} problem(s): see the lines in capitals above` : 'all targets up, nothing missing');
  return { text: `${sections.join('\n\n')}\n`, problems };
}

export const centralCheckCommand: Command = {
  name: 'central check',
  summary: 'probe every configured target once and print what each procedure would do',
  usage: [
    'usage: hotpot central check [--config FILE] [--allow-list FILE]',
    '',
    `Reads central's config (default ${DEFAULT_CENTRAL_CONFIG}) and, changing nothing: probes each recovery`,
    "procedure's target once (main server, database, chain nodes) and prints its dry run; checks the",
    'backups (directory writable, pg_dump and pg_restore present), the notify channels, and that every',
    `systemctl command of the procedures is in the polkit allow-list (default ${UNIT_ALLOW_LIST_FILE}).`,
    'Run it as central runs (sudo -u hotpot) to see what central can reach. Exit 1 when a target is',
    'down or something is missing.',
  ].join('\n'),
  options: { config: { type: 'string', short: 'c' }, 'allow-list': { type: 'string' } },
  async run(values) {
    const config = loadCentralConfig((values.config as string | undefined) ?? DEFAULT_CENTRAL_CONFIG);
    const report = await checkCentral(config, { allowListFile: (values['allow-list'] as string | undefined) ?? UNIT_ALLOW_LIST_FILE });
    process.stdout.write(report.text);
    return report.problems ? 1 : 0;
  },
};
