import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Database } from 'better-sqlite3';
import { systemClock, type Clock } from '../../lib/clock.js';
import { describeCommandResult, describeFailure, runCommand, succeeded, type CommandSpec } from '../../lib/command.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { ChangeListeners } from '../../lib/listeners.js';
import { createRedactor, urlPasswords, type Redact } from '../../lib/redact.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { CentralErrors } from '../errors.js';
import type { IncidentSink } from '../incidents/types.js';
import type { StepOutcome } from '../recovery/audit.js';
import { isTruthyValue, pgFirstValue } from '../../lib/postgres.js';
import { BACKUP_KINDS, type BackupKind, type BackupsConfig, type KindConfig } from './config.js';
import { findPgBinDir, pgProgram, quoteIdent, withDatabase } from './pg-tools.js';
import { TIERS, copyProblem, dueTier, expiredCopies, nextCronAt, nextTierTimes, parseListing, type Tier } from './plan.js';
import { BackupStore, type BackupRecord, type DrillRecord } from './store.js';
import { CommandTargetClient } from './targets.js';

export interface BackupServiceOptions {
  config: BackupsConfig;
  /** Central's SQLite handle; the catalogue lives in `runbook_backups`. */
  db: Database;
  incidents: IncidentSink;
  clock?: Clock;
  log?: Logger;
  /** IANA zone the cron schedules are read in (central's `timeZone`); UTC when absent. */
  timeZone?: string;
}

export interface BackupProgress {
  id: string;
  kind: BackupKind;
  tier: Tier;
  phase: 'dump' | 'checksum' | 'verify' | 'offsite' | 'retention';
  startedAt: number;
  bytes: number;
}

export interface BackupsOverview {
  backups: BackupRecord[];
  running: BackupProgress[];
  newestVerified: { id: string; finishedAt: number; ageHours: number } | null;
  maxVerifiedAgeHours: number;
  schedules: KindSchedule[];
  /** The newest restore drill of each kind. */
  drills: DrillRecord[];
}

/** A kind's tiers (next run each), its targets (retention each) and its drill. */
export interface KindSchedule {
  kind: BackupKind;
  tiers: Array<{ tier: Tier; cron: string; retentionDays: number; nextAt: number | null }>;
  targets: Array<{ name: string; type: 'local' | 'command'; retentionDays: number; tiers: Tier[] }>;
  drill: { cron: string; target: string; nextAt: number | null } | null;
}

const EXTENSION: Record<BackupKind, string> = { postgres: 'dump', config: 'tar.gz', logs: 'tar.gz', chain: 'chain' };

const PROGRESS_EVERY_MS = 5000;
const TOOL_TIMEOUT_MS = 30_000;

/**
 * Takes backups (pg_dump -Fc, config tar, logs tar, the chain's own archive) on daily, weekly and
 * monthly schedules in central's time zone or on demand, writes a sha256 next to each, proves each
 * dump restores into a scratch database, copies to every off-site target and checks the copy in its
 * listing, prunes each target by its and the tier's retention, drills a restore from off-site
 * monthly, and raises an incident when the newest verified dump is too old.
 */
export class BackupService {
  private readonly store: BackupStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly redact: Redact;
  private readonly running = new Map<BackupKind, { progress: BackupProgress; promise: Promise<BackupRecord> }>();
  private readonly nextDue = new Map<BackupKind, Partial<Record<Tier, number>>>();
  private readonly nextDrill = new Map<BackupKind, number>();
  private readonly drilling = new Map<BackupKind, Promise<DrillRecord>>();
  private readonly changes: ChangeListeners;
  private readonly binDir: string;
  private readonly dir: string;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private started = false;

  constructor(private readonly options: BackupServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger();
    this.changes = new ChangeListeners(this.log, 'backup');
    this.store = new BackupStore(options.db);
    const config = options.config;
    this.redact = createRedactor(urlPasswords([config.postgres?.url, config.postgres?.verify.maintenanceUrl].filter((u): u is string => Boolean(u))));
    this.binDir = findPgBinDir(config.pgBinDir);
    this.dir = resolve(config.dir);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.clock.now();
    this.store.init(this.startedAt);
    if (this.options.config.postgres) {
      const version = await runCommand({ argv: [pgProgram(this.binDir, 'pg_dump'), '--version'], timeoutMs: TOOL_TIMEOUT_MS }, { redact: this.redact });
      if (version.exitCode === 0) this.log.info({ binDir: this.binDir || '(PATH)', version: version.output.trim() }, 'backups: pg_dump found');
      else this.log.error({ binDir: this.binDir || '(PATH)', detail: version.error ?? version.output }, 'backups: pg_dump is not usable; set backups.pgBinDir');
    }
    for (const kind of BACKUP_KINDS) {
      this.scheduleNext(kind);
      this.scheduleDrill(kind);
    }
    this.scheduleTick();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...[...this.running.values()].map((r) => r.promise), ...this.drilling.values()]);
  }

  /** Called after anything overview() shows may have changed (a backup starting, a phase, its end). */
  onChange(listener: () => void): () => void {
    return this.changes.add(listener);
  }

  /** Runs due schedules and the staleness check; the timer calls it, tests may too. */
  tick(): void {
    const now = this.clock.now();
    for (const [kind, next] of this.nextDue) {
      const tier = dueTier(next, now);
      if (!tier || this.running.has(kind)) continue;
      // Tiers due together make one backup, of the highest tier.
      this.scheduleNext(kind);
      this.runInBackground(kind, 'schedule', tier);
    }
    for (const [kind, due] of this.nextDrill) {
      if (due > now || this.drilling.has(kind)) continue;
      this.scheduleDrill(kind);
      this.drillInBackground(kind);
    }
    this.checkStaleness();
  }

  /** Starts a backup of `kind` without waiting for it (POST /api/backups/run); progress shows in overview(). */
  runInBackground(kind: BackupKind, by: string, tier: Tier = 'daily'): string {
    const id = this.begin(kind, by, tier);
    const promise = this.running.get(kind)!.promise;
    void promise.catch((error: unknown) => this.log.error({ err: error, kind }, 'backup failed'));
    return id;
  }

  /** Runs a backup of `kind` to the end (dump, checksum, verify, offsite, retention). */
  async run(kind: BackupKind, by = 'api', tier: Tier = 'daily'): Promise<BackupRecord> {
    this.begin(kind, by, tier);
    return this.running.get(kind)!.promise;
  }

  overview(limit = 100): BackupsOverview {
    const newest = this.store.newestVerified('postgres');
    const config = this.options.config;
    return {
      backups: this.store.list(limit),
      running: [...this.running.values()].map((r) => ({ ...r.progress })),
      newestVerified: newest?.finishedAt ? { id: newest.id, finishedAt: newest.finishedAt, ageHours: (this.clock.now() - newest.finishedAt) / 3_600_000 } : null,
      maxVerifiedAgeHours: config.maxVerifiedAgeHours,
      schedules: BACKUP_KINDS.filter((kind) => config[kind]).map((kind) => this.kindSchedule(kind, config[kind]!)),
      drills: this.store.lastDrills(),
    };
  }

  private kindSchedule(kind: BackupKind, kc: KindConfig): KindSchedule {
    const next = this.nextDue.get(kind) ?? {};
    const drillTarget = this.drillTarget(kind);
    return {
      kind,
      tiers: TIERS.flatMap((tier) => {
        const schedule = kc.schedules[tier];
        return schedule ? [{ tier, cron: schedule.cron, retentionDays: schedule.retentionDays, nextAt: next[tier] ?? null }] : [];
      }),
      targets: kc.targets.map((t) => (t.type === 'local' ? { name: 'local', type: t.type, retentionDays: t.retentionDays, tiers: [...TIERS] } : { name: t.name, type: t.type, retentionDays: t.retentionDays, tiers: t.tiers })),
      drill: kc.drill && drillTarget ? { cron: kc.drill.cron, target: drillTarget.target.name, nextAt: this.nextDrill.get(kind) ?? null } : null,
    };
  }

  newestVerified(kind: BackupKind): BackupRecord | null {
    return this.store.newestVerified(kind);
  }

  /** Milliseconds since the newest verified postgres dump was taken (null: none yet). */
  newestVerifiedAgeMs(): number | null {
    const newest = this.store.newestVerified('postgres');
    return newest?.finishedAt ? this.clock.now() - newest.finishedAt : null;
  }

  /** What a restore of `kind` would use: the newest verified dump for postgres, the newest good archive otherwise. */
  newestRestorable(kind: BackupKind): BackupRecord | null {
    return kind === 'postgres' ? this.store.newestVerified(kind) : this.store.newestOk(kind);
  }

  /**
   * Checks the backup's sha256, then restores it: a dump over `url` in one transaction
   * (pg_restore --clean), a config or logs archive over its configured paths, chain state through
   * `backups.chain.restore`.
   */
  async restore(backupId: string, url: string | undefined, timeoutMs: number): Promise<StepOutcome> {
    const backup = this.store.get(backupId);
    if (!backup || backup.status !== 'ok' || backup.deleted) return { ok: false, detail: `backup ${backupId} is not restorable (unknown, failed, or deleted past its retention)` };
    if (!existsSync(backup.file)) return { ok: false, detail: `backup file ${backup.file} is missing` };
    const sha256 = await sha256File(backup.file);
    if (sha256 !== backup.sha256) return { ok: false, detail: `backup ${backupId} checksum mismatch (${sha256} ≠ ${backup.sha256}); not restoring` };
    const specs = this.restoreSpecs(backup, url, timeoutMs);
    if (typeof specs === 'string') return { ok: false, detail: specs };
    const redact = url ? this.redactFor(url) : this.redact;
    const done: string[] = [];
    for (const spec of specs) {
      const result = await runCommand(spec, { redact });
      const ok = succeeded(result);
      done.push(describeCommandResult(spec, result, redact));
      if (!ok) return { ok, detail: `restore failed: ${done.join('; ')}`, exitCode: result.exitCode, output: result.output };
    }
    return { ok: true, detail: `restored: ${done.join('; ')}` };
  }

  private restoreSpecs(backup: BackupRecord, url: string | undefined, timeoutMs: number): CommandSpec[] | string {
    const config = this.options.config;
    switch (backup.kind) {
      case 'postgres':
        if (!url) return 'a postgres restore needs the database url to restore into';
        return [{ argv: [pgProgram(this.binDir, 'pg_restore'), '--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', '--dbname', url, backup.file], timeoutMs }];
      case 'config':
      case 'logs': {
        const paths = config[backup.kind]?.paths;
        if (!paths) return `backups.${backup.kind} is not configured: its paths say where the archive goes back`;
        // The archive holds each path under its own name (tar -C its directory): put each back there.
        return paths.map((p) => resolve(p)).map((p) => ({ argv: ['tar', '-xzf', backup.file, '-C', dirname(p), basename(p)], timeoutMs }));
      }
      case 'chain': {
        const chain = config.chain;
        if (!chain) return 'backups.chain is not configured: its restore command puts chain state back';
        return [{ argv: fillFile(chain.restore, backup.file), env: chain.env, timeoutMs }];
      }
    }
  }

  // ---- one backup run --------------------------------------------------------------------

  private begin(kind: BackupKind, by: string, tier: Tier): string {
    if (!this.started) throw CentralErrors.backupsNotStarted();
    if (!this.options.config[kind]) throw CentralErrors.backupKindOff(kind);
    if (this.running.has(kind)) throw CentralErrors.backupRunning(kind, this.running.get(kind)!.progress.id);
    const id = uuidv7(this.clock.now());
    const progress: BackupProgress = { id, kind, tier, phase: 'dump', startedAt: this.clock.now(), bytes: 0 };
    const promise = this.execute(progress, by).finally(() => {
      this.running.delete(kind);
      this.changes.fire();
    });
    this.running.set(kind, { progress, promise });
    this.changes.fire();
    return id;
  }

  private async execute(progress: BackupProgress, by: string): Promise<BackupRecord> {
    const { id, kind, tier } = progress;
    const stamp = new Date(progress.startedAt).toISOString().replace(/[:.]/g, '-');
    const file = join(this.localDir(kind), `${kind}-${tier}-${stamp}-${id.slice(-8)}.${EXTENSION[kind]}`);
    this.store.started({ id, kind, tier, file, startedAt: progress.startedAt, by });
    this.log.info({ id, kind, tier, file, by }, 'backup started');
    if (this.options.config.notifyCompleted) this.options.incidents.clear(`backups:completed:${kind}`, `a new ${kind} backup started (${id})`);
    const ticker = setInterval(() => void this.reportProgress(progress, `${file}.partial`).catch(() => undefined), PROGRESS_EVERY_MS);
    try {
      await mkdir(dirname(file), { recursive: true });
      await this.dump(kind, `${file}.partial`);
      await rename(`${file}.partial`, file);
      this.enter(progress, 'checksum');
      const sha256 = await sha256File(file);
      await writeFile(`${file}.sha256`, `${sha256}  ${basename(file)}\n`);
      const size = (await stat(file)).size;
      progress.bytes = size;
      this.store.finished(id, { size, sha256, at: this.clock.now() });
      this.log.info({ id, kind, size, sha256 }, 'backup written');
      const problems: string[] = [];
      if (kind === 'postgres') {
        this.enter(progress, 'verify');
        const verified = await this.verify(id, file);
        if (!verified) problems.push(`verification failed: ${this.store.get(id)!.verifyDetail}`);
      } else {
        this.store.verified(id, 'skipped', 'only postgres dumps are restored for verification', this.clock.now());
      }
      this.enter(progress, 'offsite');
      problems.push(...(await this.copyToTargets(this.store.get(id)!)));
      this.enter(progress, 'retention');
      problems.push(...(await this.prune(kind)));
      if (problems.length) this.raise(kind, problems.join('; '));
      else {
        this.options.incidents.clear(`backups:${kind}`, `backup ${id} written${kind === 'postgres' ? ' and verified' : ''}`);
        this.announceCompleted(this.store.get(id)!);
      }
    } catch (error) {
      const message = this.redact((error as Error).message);
      await rm(`${file}.partial`, { force: true });
      this.store.failed(id, message, this.clock.now());
      this.log.error({ id, kind, error: message }, 'backup failed');
      this.raise(kind, `backup ${id} failed: ${message}`);
    } finally {
      clearInterval(ticker);
      this.checkStaleness();
    }
    return this.store.get(id)!;
  }

  private enter(progress: BackupProgress, phase: BackupProgress['phase']): void {
    progress.phase = phase;
    this.changes.fire();
  }

  private async reportProgress(progress: BackupProgress, partialFile: string): Promise<void> {
    if (progress.phase === 'dump') progress.bytes = await stat(partialFile).then((s) => s.size, () => progress.bytes);
    this.changes.fire();
    this.log.info({ id: progress.id, kind: progress.kind, phase: progress.phase, bytes: progress.bytes, seconds: Math.round((this.clock.now() - progress.startedAt) / 1000) }, 'backup in progress');
  }

  private async dump(kind: BackupKind, out: string): Promise<void> {
    const config = this.options.config;
    let spec: CommandSpec;
    let acceptable = [0];
    if (kind === 'postgres') {
      spec = { argv: [pgProgram(this.binDir, 'pg_dump'), '-Fc', '--no-password', '--file', out, '--dbname', config.postgres!.url], timeoutMs: config.postgres!.timeoutMs };
    } else if (kind === 'chain') {
      spec = { argv: fillFile(config.chain!.backup, out), env: config.chain!.env, timeoutMs: config.chain!.timeoutMs };
    } else {
      const paths = config[kind]!.paths.map((p) => resolve(p));
      // -C per path keeps archive names relative (no "removing leading /" surprises on restore).
      spec = { argv: ['tar', '-czf', out, ...paths.flatMap((p) => ['-C', dirname(p), basename(p)])], timeoutMs: 3_600_000 };
      // GNU tar exits 1 when a file changed while it was read: expected for live logs.
      if (kind === 'logs') acceptable = [0, 1];
    }
    const result = await runCommand(spec, { redact: this.redact });
    if (result.timedOut || result.exitCode === null || !acceptable.includes(result.exitCode)) {
      throw new Error(describeFailure(spec, result, this.redact));
    }
    if (!existsSync(out)) throw new Error(`${describeCommandResult(spec, result, this.redact)} but wrote no ${out}`);
  }

  /** Restores the dump into a fresh scratch database, runs the integrity checks, drops it. */
  private async verify(id: string, file: string): Promise<boolean> {
    const pgConfig = this.options.config.postgres!;
    if (!pgConfig.verify.enabled) {
      this.store.verified(id, 'skipped', 'verification disabled (backups.postgres.verify.enabled)', this.clock.now());
      return true;
    }
    const maintenance = pgConfig.verify.maintenanceUrl ?? withDatabase(pgConfig.url, 'postgres');
    const scratch = `hotpot_verify_${id.replace(/-/g, '').slice(-16)}`;
    const scratchUrl = withDatabase(maintenance, scratch);
    const details: string[] = [];
    let ok = false;
    try {
      await pgFirstValue(maintenance, `CREATE DATABASE ${quoteIdent(scratch)}`, TOOL_TIMEOUT_MS);
      details.push(`scratch database ${scratch}`);
      const spec: CommandSpec = {
        argv: [pgProgram(this.binDir, 'pg_restore'), '--no-owner', '--no-privileges', '--exit-on-error', '--dbname', scratchUrl, file],
        timeoutMs: pgConfig.timeoutMs,
      };
      const restored = await runCommand(spec, { redact: this.redact });
      details.push(describeCommandResult(spec, restored, this.redact));
      if (restored.exitCode !== 0 || restored.timedOut) {
        details.push(restored.output.trim().slice(-500));
      } else {
        ok = true;
        for (const check of pgConfig.verify.checks) {
          const value = await pgFirstValue(scratchUrl, check.query, TOOL_TIMEOUT_MS).catch((error: Error) => `error: ${error.message}`);
          const passed = isTruthyValue(value, check.min) && !(typeof value === 'string' && value.startsWith('error: '));
          details.push(`${check.name}: ${JSON.stringify(value)} ${passed ? 'ok' : 'FAILED'}`);
          ok &&= passed;
        }
      }
    } catch (error) {
      details.push((error as Error).message);
      ok = false;
    } finally {
      await pgFirstValue(maintenance, `DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`, TOOL_TIMEOUT_MS).catch((error: Error) =>
        details.push(`could not drop scratch database ${scratch}: ${error.message}`),
      );
    }
    const detail = this.redact(details.join('; '));
    this.store.verified(id, ok ? 'passed' : 'failed', detail, this.clock.now());
    this.log.info({ id, ok, detail }, 'backup verification');
    return ok;
  }

  /** Copies a new backup to each command target of its tier and checks it in the target's listing; returns the problems. */
  private async copyToTargets(backup: BackupRecord): Promise<string[]> {
    const targets = this.commandTargets(backup.kind).filter((client) => client.target.tiers.includes(backup.tier));
    if (!targets.length) {
      this.store.offsite(backup.id, 'skipped', `no off-site target for ${backup.tier} backups in backups.${backup.kind}.targets`);
      return [];
    }
    const problems: string[] = [];
    const name = basename(backup.file);
    for (const client of targets) {
      const copied = await client.copy(backup.file);
      let problem = copied.ok ? null : `copy to ${client.target.name} failed: ${copied.detail}`;
      if (!problem) {
        const listed = await client.list();
        problem = listed.ok
          ? copyProblem(
              parseListing(listed.stdout ?? '', (n) => n === name).find((f) => f.name === name),
              { name, size: backup.size, sha256: backup.sha256 },
            )
          : `listing ${client.target.name} after the copy failed: ${listed.detail}`;
        if (problem) problem = `${client.target.name}: ${problem}`;
      }
      this.store.copied(backup.id, client.target.name, problem ? 'failed' : 'ok', problem ?? `copied and listed: ${copied.detail}`, this.clock.now());
      this.log.info({ id: backup.id, target: client.target.name, ok: !problem, detail: problem ?? copied.detail }, 'backup copied off-site');
      if (problem) problems.push(problem);
    }
    const failed = problems.length;
    this.store.offsite(backup.id, failed ? 'failed' : 'ok', failed ? problems.join('; ') : `copied to ${targets.map((c) => c.target.name).join(', ')}`);
    return problems.map((p) => `off-site copy failed: ${p}`);
  }

  /**
   * Deletes, on every target, copies past the longer of the target's and their tier's retention
   * (monthly copies outlive the daily pruning), never the kind's newest good backup. Off-site,
   * what the target lists is what is pruned; names this central did not write are left alone.
   */
  private async prune(kind: BackupKind): Promise<string[]> {
    const kc = this.options.config[kind]!;
    const tierDays = Object.fromEntries(TIERS.flatMap((tier) => (kc.schedules[tier] ? [[tier, kc.schedules[tier].retentionDays]] : [])));
    const now = this.clock.now();
    const keep = this.newestRestorable(kind)?.id ?? null;
    const local = kc.targets.find((t) => t.type === 'local')!;
    const problems: string[] = [];
    for (const backup of expiredCopies(this.store.local(kind).map((b) => ({ ...b, backupId: b.id, takenAt: b.startedAt })), local.retentionDays, tierDays, now, keep)) {
      await rm(backup.file, { force: true });
      await rm(`${backup.file}.sha256`, { force: true });
      this.store.markDeleted(backup.id);
      this.log.info({ id: backup.id, kind, tier: backup.tier, file: backup.file }, 'backup past local retention deleted');
    }
    for (const client of this.commandTargets(kind)) {
      const target = client.target.name;
      const listed = await client.list();
      if (!listed.ok) {
        problems.push(`pruning ${target}: listing failed: ${listed.detail}`);
        continue;
      }
      const known = this.store.byName(kind);
      const files = parseListing(listed.stdout ?? '', (n) => known.has(n.replace(/\.sha256$/, '')));
      const held = files.map((file) => {
        const backup = known.get(file.name.replace(/\.sha256$/, ''))!;
        return { name: file.name, backupId: backup.id, tier: backup.tier, takenAt: backup.startedAt };
      });
      for (const copy of expiredCopies(held, client.target.retentionDays, tierDays, now, keep)) {
        const deleted = await client.delete(copy.name);
        if (!deleted.ok) {
          problems.push(`pruning ${target}: ${deleted.detail}`);
          continue;
        }
        if (!copy.name.endsWith('.sha256')) this.store.copied(copy.backupId, target, 'deleted', `past retention: ${deleted.detail}`, now);
        this.log.info({ id: copy.backupId, kind, tier: copy.tier, target, name: copy.name }, 'off-site copy past retention deleted');
      }
    }
    return problems;
  }

  /** "Backup completed": an info incident (one chat line on notify's default ladder), cleared when the next one starts. */
  private announceCompleted(backup: BackupRecord): void {
    if (!this.options.config.notifyCompleted) return;
    const copies = backup.copies.filter((c) => c.state === 'ok').map((c) => c.target);
    this.options.incidents.raise({
      key: `backups:completed:${backup.kind}`,
      title: `${backup.kind} backup completed`,
      severity: 'info',
      detail: `${backup.tier} backup ${backup.id}: ${backup.size} bytes, sha256 ${backup.sha256.slice(0, 12)}…${backup.kind === 'postgres' ? `, verify ${backup.verify}` : ''}; local${copies.length ? ` and ${copies.join(', ')}` : ' only'}`,
    });
  }

  // ---- restore drills --------------------------------------------------------------------

  /**
   * The restore drill: fetches the newest copy on the drill's target into a scratch directory,
   * checks its sha256 and the kind's own check (pg_restore --list, tar -t, the chain's check).
   */
  async drill(kind: BackupKind): Promise<DrillRecord> {
    if (!this.drillTarget(kind)) throw CentralErrors.backupKindOff(`${kind}.drill`);
    const running = this.drilling.get(kind);
    if (running) return running;
    const promise = this.runDrill(kind).finally(() => {
      this.drilling.delete(kind);
      this.changes.fire();
    });
    this.drilling.set(kind, promise);
    return promise;
  }

  /** Starts a drill without waiting for it (POST /api/backups/drill, the schedule); throws when `kind` has none. */
  drillInBackground(kind: BackupKind): void {
    if (!this.drillTarget(kind)) throw CentralErrors.backupKindOff(`${kind}.drill`);
    void this.drill(kind).catch((error: unknown) => this.log.error({ err: error, kind }, 'restore drill failed'));
  }

  private async runDrill(kind: BackupKind): Promise<DrillRecord> {
    const { client } = this.drillTarget(kind)!;
    const id = uuidv7(this.clock.now());
    const backup = this.store.newestCopied(kind, client.target.name);
    const details: string[] = [];
    let ok = false;
    if (!backup) details.push(`no ${kind} backup has a good copy on ${client.target.name} yet`);
    else {
      await mkdir(this.dir, { recursive: true });
      const scratch = await mkdtemp(join(this.dir, `.drill-${kind}-`));
      const file = join(scratch, basename(backup.file));
      try {
        const fetched = await client.fetch(basename(backup.file), file);
        details.push(`fetched ${backup.tier} backup ${backup.id} from ${client.target.name}: ${fetched.detail}`);
        if (fetched.ok && existsSync(file)) {
          const sha256 = await sha256File(file);
          const sumOk = sha256 === backup.sha256;
          details.push(sumOk ? `sha256 ${sha256} matches` : `sha256 ${sha256} ≠ ${backup.sha256} recorded`);
          const check = this.drillCheck(kind, file);
          if (sumOk && check) {
            const result = await runCommand(check, { redact: this.redact, stdoutMaxBytes: 16 * 1024 * 1024 });
            ok = succeeded(result);
            details.push(ok ? `${describeCommandResult(check, result, this.redact)}` : describeFailure(check, result, this.redact));
          } else ok = sumOk;
        } else if (fetched.ok) details.push(`the fetch command wrote no ${file}`);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }
    const record: DrillRecord = { id, kind, backupId: backup?.id ?? null, target: client.target.name, at: this.clock.now(), ok, detail: this.redact(details.join('; ')) };
    this.store.drilled(record);
    this.log.info({ ...record }, 'backup restore drill');
    if (ok) this.options.incidents.clear(`backups:drill:${kind}`, `restore drill passed: ${record.detail}`);
    else this.options.incidents.raise({ key: `backups:drill:${kind}`, title: `${kind} restore drill failed`, severity: 'major', detail: record.detail });
    return record;
  }

  /** The kind's own proof that a fetched file is usable (null: the sha256 is all). */
  private drillCheck(kind: BackupKind, file: string): CommandSpec | null {
    switch (kind) {
      case 'postgres':
        return { argv: [pgProgram(this.binDir, 'pg_restore'), '--list', file], timeoutMs: TOOL_TIMEOUT_MS * 10 };
      case 'config':
      case 'logs':
        return { argv: ['tar', '-tzf', file], timeoutMs: TOOL_TIMEOUT_MS * 10 };
      case 'chain': {
        const chain = this.options.config.chain!;
        return chain.check ? { argv: fillFile(chain.check, file), env: chain.env, timeoutMs: chain.timeoutMs } : null;
      }
    }
  }

  private drillTarget(kind: BackupKind): { client: CommandTargetClient; target: { name: string } } | null {
    const drill = this.options.config[kind]?.drill;
    if (!drill) return null;
    const client = this.commandTargets(kind).find((c) => (drill.target ? c.target.name === drill.target : c.target.fetch));
    return client ? { client, target: client.target } : null;
  }

  private commandTargets(kind: BackupKind): CommandTargetClient[] {
    return this.options.config[kind]!.targets.flatMap((t) => (t.type === 'command' ? [new CommandTargetClient(t, this.redact)] : []));
  }

  private localDir(kind: BackupKind): string {
    const local = this.options.config[kind]!.targets.find((t) => t.type === 'local');
    return local?.dir ? resolve(local.dir) : join(this.dir, kind);
  }

  // ---- schedules and alerts --------------------------------------------------------------

  private scheduleNext(kind: BackupKind): void {
    const schedules = this.options.config[kind]?.schedules;
    if (!schedules || !TIERS.some((tier) => schedules[tier])) return;
    // "0 2 * * *" is 02:00 where the franchise is, not in UTC.
    this.nextDue.set(kind, nextTierTimes(schedules, this.clock.now(), this.timeZone()));
  }

  private scheduleDrill(kind: BackupKind): void {
    const drill = this.options.config[kind]?.drill;
    if (drill) this.nextDrill.set(kind, nextCronAt(drill.cron, this.clock.now(), this.timeZone()));
  }

  private timeZone(): string {
    return this.options.timeZone ?? 'UTC';
  }

  private scheduleTick(): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      this.tick();
      this.scheduleTick();
    }, this.options.config.checkEvery);
  }

  private checkStaleness(): void {
    if (!this.options.config.postgres) return;
    const limitMs = this.options.config.maxVerifiedAgeHours * 3_600_000;
    const newest = this.store.newestVerified('postgres');
    const ageMs = this.clock.now() - (newest?.finishedAt ?? this.startedAt);
    if (ageMs <= limitMs) {
      this.options.incidents.clear('backups:stale', newest ? `newest verified backup ${newest.id} is ${(ageMs / 3_600_000).toFixed(1)} h old` : 'no verified backup yet, within the limit');
      return;
    }
    const hours = (ageMs / 3_600_000).toFixed(1);
    this.options.incidents.raise({
      key: 'backups:stale',
      title: 'No recent verified database backup',
      severity: 'major',
      detail: newest
        ? `the newest verified postgres backup (${newest.id}) is ${hours} h old; the limit is ${this.options.config.maxVerifiedAgeHours} h`
        : `no verified postgres backup in the ${hours} h since central started; the limit is ${this.options.config.maxVerifiedAgeHours} h`,
    });
  }

  private raise(kind: BackupKind, detail: string): void {
    this.options.incidents.raise({ key: `backups:${kind}`, title: `${kind} backup problem`, severity: 'major', detail: this.redact(detail) });
  }

  private redactFor(url: string): Redact {
    const extra = createRedactor(urlPasswords([url]));
    return (text) => extra(this.redact(text));
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** A chain command's argv with `{file}` replaced. */
function fillFile(argv: readonly [string, ...string[]], file: string): string[] {
  return argv.map((arg) => arg.replaceAll('{file}', file));
}
