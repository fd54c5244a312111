import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Database } from 'better-sqlite3';
import { CronExpressionParser } from 'cron-parser';
import { systemClock, type Clock } from '../../lib/clock.js';
import { describeCommandResult, describeFailure, runCommand, type CommandSpec } from '../../lib/command.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { ChangeListeners } from '../../lib/listeners.js';
import { createRedactor, urlPasswords, type Redact } from '../../lib/redact.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { CentralErrors } from '../errors.js';
import type { IncidentSink } from '../incidents/types.js';
import type { StepOutcome } from '../recovery/audit.js';
import { isTruthyValue, pgFirstValue } from '../../lib/postgres.js';
import { BACKUP_KINDS, type BackupKind, type BackupsConfig } from './config.js';
import { findPgBinDir, pgProgram, quoteIdent, withDatabase } from './pg-tools.js';
import { BackupStore, type BackupRecord } from './store.js';

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
  phase: 'dump' | 'checksum' | 'verify' | 'offsite' | 'retention';
  startedAt: number;
  bytes: number;
}

export interface BackupsOverview {
  backups: BackupRecord[];
  running: BackupProgress[];
  newestVerified: { id: string; finishedAt: number; ageHours: number } | null;
  maxVerifiedAgeHours: number;
  schedules: Array<{ kind: BackupKind; schedule: string | null; nextAt: number | null; retentionDays: number }>;
}

const DAY_MS = 86_400_000;
const PROGRESS_EVERY_MS = 5000;
const TOOL_TIMEOUT_MS = 30_000;

/**
 * Takes backups (pg_dump -Fc, config tar, logs tar) on cron schedules or on demand, writes a
 * sha256 next to each, proves each dump restores into a scratch database, copies offsite, keeps
 * each kind for its retention and raises an incident when the newest verified dump is too old.
 */
export class BackupService {
  private readonly store: BackupStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly redact: Redact;
  private readonly running = new Map<BackupKind, { progress: BackupProgress; promise: Promise<BackupRecord> }>();
  private readonly nextDue = new Map<BackupKind, number>();
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
    for (const kind of BACKUP_KINDS) this.scheduleNext(kind);
    this.scheduleTick();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  /** Called after anything overview() shows may have changed (a backup starting, a phase, its end). */
  onChange(listener: () => void): () => void {
    return this.changes.add(listener);
  }

  /** Runs due schedules and the staleness check; the timer calls it, tests may too. */
  tick(): void {
    const now = this.clock.now();
    for (const [kind, due] of this.nextDue) {
      if (due > now || this.running.has(kind)) continue;
      this.scheduleNext(kind);
      this.runInBackground(kind, 'schedule');
    }
    this.checkStaleness();
  }

  /** Starts a backup of `kind` without waiting for it (POST /api/backups/run); progress shows in overview(). */
  runInBackground(kind: BackupKind, by: string): string {
    const id = this.begin(kind, by);
    const promise = this.running.get(kind)!.promise;
    void promise.catch((error: unknown) => this.log.error({ err: error, kind }, 'backup failed'));
    return id;
  }

  /** Runs a backup of `kind` to the end (dump, checksum, verify, offsite, retention). */
  async run(kind: BackupKind, by = 'api'): Promise<BackupRecord> {
    this.begin(kind, by);
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
      schedules: BACKUP_KINDS.filter((kind) => config[kind]).map((kind) => ({
        kind,
        schedule: config[kind]!.schedule ?? null,
        nextAt: this.nextDue.get(kind) ?? null,
        retentionDays: config[kind]!.retentionDays,
      })),
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

  /** Checks the dump's sha256, then restores it over `url` in one transaction (pg_restore --clean). */
  async restore(backupId: string, url: string, timeoutMs: number): Promise<StepOutcome> {
    const backup = this.store.get(backupId);
    if (!backup || backup.kind !== 'postgres' || backup.status !== 'ok' || backup.deleted) return { ok: false, detail: `backup ${backupId} is not a restorable postgres dump` };
    if (!existsSync(backup.file)) return { ok: false, detail: `backup file ${backup.file} is missing` };
    const sha256 = await sha256File(backup.file);
    if (sha256 !== backup.sha256) return { ok: false, detail: `backup ${backupId} checksum mismatch (${sha256} ≠ ${backup.sha256}); not restoring` };
    const spec: CommandSpec = {
      argv: [pgProgram(this.binDir, 'pg_restore'), '--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', '--dbname', url, backup.file],
      timeoutMs,
    };
    const result = await runCommand(spec, { redact: this.redactFor(url) });
    const ok = result.exitCode === 0 && !result.timedOut;
    return { ok, detail: `${ok ? 'restored' : 'restore failed'}: ${describeCommandResult(spec, result, this.redactFor(url))}`, exitCode: result.exitCode, output: result.output };
  }

  // ---- one backup run --------------------------------------------------------------------

  private begin(kind: BackupKind, by: string): string {
    if (!this.started) throw CentralErrors.backupsNotStarted();
    if (!this.options.config[kind]) throw CentralErrors.backupKindOff(kind);
    if (this.running.has(kind)) throw CentralErrors.backupRunning(kind, this.running.get(kind)!.progress.id);
    const id = uuidv7(this.clock.now());
    const progress: BackupProgress = { id, kind, phase: 'dump', startedAt: this.clock.now(), bytes: 0 };
    const promise = this.execute(progress, by).finally(() => {
      this.running.delete(kind);
      this.changes.fire();
    });
    this.running.set(kind, { progress, promise });
    this.changes.fire();
    return id;
  }

  private async execute(progress: BackupProgress, by: string): Promise<BackupRecord> {
    const { id, kind } = progress;
    const stamp = new Date(progress.startedAt).toISOString().replace(/[:.]/g, '-');
    const file = join(this.dir, kind, `${kind}-${stamp}-${id.slice(-8)}.${kind === 'postgres' ? 'dump' : 'tar.gz'}`);
    this.store.started({ id, kind, file, startedAt: progress.startedAt, by });
    this.log.info({ id, kind, file, by }, 'backup started');
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
      if (!(await this.copyOffsite(id, file))) problems.push(`offsite copy failed: ${this.store.get(id)!.offsiteDetail}`);
      this.enter(progress, 'retention');
      await this.applyRetention(kind);
      if (problems.length) this.raise(kind, problems.join('; '));
      else this.options.incidents.clear(`backups:${kind}`, `backup ${id} written${kind === 'postgres' ? ' and verified' : ''}`);
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

  private async copyOffsite(id: string, file: string): Promise<boolean> {
    const offsite = this.options.config.offsite;
    if (!offsite) {
      this.store.offsite(id, 'skipped', 'no backups.offsite command configured');
      return true;
    }
    const values: Record<string, string> = { file, checksumFile: `${file}.sha256` };
    const argv = offsite.argv.map((arg) => arg.replace(/\{(file|checksumFile)\}/g, (_, key: string) => values[key]!)) as [string, ...string[]];
    const spec: CommandSpec = { argv, env: offsite.env, timeoutMs: offsite.timeoutMs };
    const result = await runCommand(spec, { redact: this.redact });
    const ok = result.exitCode === 0 && !result.timedOut;
    this.store.offsite(id, ok ? 'ok' : 'failed', ok ? describeCommandResult(spec, result, this.redact) : describeFailure(spec, result, this.redact));
    return ok;
  }

  /** Deletes backups past their kind's retention, but never the newest good (verified) one. */
  private async applyRetention(kind: BackupKind): Promise<void> {
    const days = this.options.config[kind]!.retentionDays;
    const keep = (kind === 'postgres' ? this.store.newestVerified(kind) : null) ?? this.store.newestOk(kind);
    for (const backup of this.store.expired(kind, this.clock.now() - days * DAY_MS)) {
      if (backup.id === keep?.id) continue;
      await rm(backup.file, { force: true });
      await rm(`${backup.file}.sha256`, { force: true });
      this.store.markDeleted(backup.id);
      this.log.info({ id: backup.id, kind, file: backup.file }, 'backup past retention deleted');
    }
  }

  // ---- schedules and alerts --------------------------------------------------------------

  private scheduleNext(kind: BackupKind): void {
    const schedule = this.options.config[kind]?.schedule;
    if (!schedule) return;
    // "0 2 * * *" is 02:00 where the franchise is, not in UTC.
    const next = CronExpressionParser.parse(schedule, { currentDate: new Date(this.clock.now()), tz: this.options.timeZone ?? 'UTC' }).next().getTime();
    this.nextDue.set(kind, next);
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
