import type { Database } from 'better-sqlite3';
import { systemClock, type Clock } from '../../lib/clock.js';
import { describeCommandResult, runCommand } from '../../lib/command.js';
import { httpRequest } from '../../lib/http-client.js';
import { createRedactor, urlPasswords, type Redact } from '../../lib/redact.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { ChangeListeners } from '../../lib/listeners.js';
import { sleep, withTimeout } from '../../lib/timeout.js';
import type { BackupRecord } from '../backups/store.js';
import type { TargetGate } from './gate.js';
import { CentralErrors } from '../errors.js';
import type { IncidentSink } from '../incidents/types.js';
import type { NoticesApi } from '../notices/plugin.js';
import type { NotifyApi } from '../notify/plugin.js';
import { RunbookAudit, type RunRecord, type StepOutcome } from './audit.js';
import { ChainMonitor } from './chain-monitor.js';
import { degradedVerdict, figuresOf, ProbeSamples, type TargetFigures } from './figures.js';
import type { ActionStep, AnnounceStep, Procedure, ProbeSpec, RecoveryConfig } from './config.js';
import { describeProbes, describeStep } from './describe.js';
import { renderPlan } from './dry-run.js';
import { runProbes, type ProbeOutcome } from './executors.js';
import { countsAsRestart, createPlanner, initialState, type Effect, type Health, type Planner, type Prepared, type RunbookEvent, type TargetState, type Work } from './planner.js';

/** What the engine needs from backups to restore PostgreSQL, a config archive or chain state (BackupService implements it). */
export interface BackupRestorer {
  /** The newest backup a restore of `kind` uses (for postgres: one whose restore into a scratch database passed its checks). */
  newestRestorable(kind: 'postgres' | 'config' | 'chain'): Pick<BackupRecord, 'id' | 'file' | 'startedAt' | 'finishedAt' | 'size' | 'sha256'> | null;
  /** Checks the file's checksum, then restores it (a dump: pg_restore --clean into `url`). */
  restore(backupId: string, url: string | undefined, timeoutMs: number): Promise<StepOutcome>;
}

export interface RecoveryEngineOptions {
  config: RecoveryConfig;
  /** Central's SQLite handle; the engine keeps its own `runbook_*` tables in it. */
  db: Database;
  incidents: IncidentSink;
  backups?: BackupRestorer;
  /** Sends a notify step's words and says which channel accepted them (the notify plugin). */
  notifier?: Pick<NotifyApi, 'announce'>;
  /** Posts and clears a notice step's notice for the staff (the notices plugin). */
  notices?: Pick<NoticesApi, 'post' | 'clearSource'>;
  clock?: Clock;
  log?: Logger;
}

/** A target's verified health and since when it has been so (null before the first verdict). */
export interface TargetHealth {
  health: Health;
  since: number | null;
}

export type HealthListener = (target: string, health: Health, detail: string) => void;

/** What a restore hook hears: which backup went where, and when its dump was taken. */
export interface RestoredBackup {
  procedure: string;
  runId: string;
  backupId: string;
  url: string;
  /** When the dump began: whatever the database recorded after it is not in the restored copy. */
  takenAt: number;
}

/** Runs after a good `restore-backup` (unless the step says `reforward: false`); its count and detail are audited in the run. */
export type RestoreHook = (restored: RestoredBackup) => Promise<{ count: number; detail: string }>;

const RESTORE_HOOK_TIMEOUT_MS = 60_000;

export interface ProcedureSummary {
  name: string;
  target: string;
  description: string | null;
  health: Health;
  probeEveryMs: number;
  lastProbe: TargetState['lastProbe'];
  restartsUsed: number;
  restartBudget: number;
  escalated: boolean;
  /**
   * `awaiting.id` is what approve() takes as its stepId (a step id, or `stage:<name>`); `approvedBy`
   * lists the approvals given so far when a step needs `approvals` different people.
   */
  run: {
    id: string;
    status: string;
    stage: string;
    step: string | null;
    startedBy: string | null;
    awaiting: { id: string; text: string; manual: boolean; approvals: number; approvedBy: string[] } | null;
  } | null;
  lastRun: TargetState['lastRun'];
}

interface Slot {
  name: string;
  target: string;
  procedure: Procedure;
  planner: Planner;
  state: TargetState;
  monitor: ChainMonitor | null;
  incidentId: string | null;
  awaitingText: string | null;
  /** The run status last written to the audit, to write only changes. */
  auditedStatus: string | null;
  busy: number;
  /** The probe in flight, if any. */
  probing: Promise<void> | null;
  probeTimer: NodeJS.Timeout | null;
  wakeTimer: NodeJS.Timeout | null;
  /** When the target's health last changed. */
  healthSince: number | null;
}

/**
 * Runs the configured recovery procedures: probes each target on its interval, feeds the pure
 * planner, executes the work it returns (commands, HTTP calls, checks, restores) and audits all
 * of it. One lock per target: procedures sharing a target never run at once.
 */
export class RecoveryEngine {
  private readonly slots: Slot[];
  private readonly audit: RunbookAudit;
  private readonly samples: ProbeSamples;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly redact: Redact;
  private readonly listeners = new Set<HealthListener>();
  private readonly changes: ChangeListeners;
  private readonly restoreHooks = new Map<string, RestoreHook>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;

  constructor(private readonly options: RecoveryEngineOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger();
    this.changes = new ChangeListeners(this.log, 'runbook');
    this.audit = new RunbookAudit(options.db);
    this.samples = new ProbeSamples(options.db);
    this.redact = createRedactor([...options.config.secrets, ...configSecrets(options.config)]);
    this.slots = Object.entries(options.config.procedures).map(([name, procedure]) => ({
      name,
      target: procedure.target ?? name,
      procedure,
      planner: createPlanner(procedure, { approvals: options.config.approvals }),
      state: initialState(name),
      monitor: procedure.chain ? new ChainMonitor(procedure.chain, procedure.probe.every) : null,
      incidentId: null,
      awaitingText: null,
      auditedStatus: null,
      busy: 0,
      probing: null,
      probeTimer: null,
      wakeTimer: null,
      healthSince: null,
    }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    this.audit.init(now);
    for (const slot of this.slots) {
      slot.state = initialState(slot.name, this.audit.restartTimes(slot.name, now - slot.procedure.budget.window));
      // A previous process (or leader) may have left the target's incident open: the first healthy probe clears it.
      slot.state.incidentOpen = true;
      this.scheduleProbe(slot, 0);
    }
    this.log.info({ procedures: this.slots.map((s) => s.name) }, 'runbook engine started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const slot of this.slots) {
      if (slot.probeTimer) clearTimeout(slot.probeTimer);
      if (slot.wakeTimer) clearTimeout(slot.wakeTimer);
      // A stopped engine knows nothing: its targets' health is unknown until it runs again.
      const wasKnown = slot.state.health !== 'unknown';
      slot.state = initialState(slot.name, slot.state.restarts);
      slot.incidentId = null;
      slot.awaitingText = null;
      slot.auditedStatus = null;
      slot.healthSince = null;
      if (wasKnown) this.apply(slot, { kind: 'health', health: 'unknown', detail: 'runbook engine stopped' });
    }
    // Let short work finish; long commands keep their own timeouts and their runs are marked interrupted on the next start.
    await withTimeout(Promise.allSettled([...this.inFlight]), 5000, 'runbook work to finish').catch(() => undefined);
  }

  /** 'down' while any procedure for `target` says so; 'up' once every one has verified it up. */
  health(target: string): Health {
    const states = this.slots.filter((s) => s.target === target).map((s) => s.state.health);
    if (states.includes('down')) return 'down';
    if (states.length > 0 && states.every((h) => h === 'up')) return 'up';
    return 'unknown';
  }

  /** `target`'s health and since when, or null when no procedure watches it. */
  targetHealth(target: string): TargetHealth | null {
    const slots = this.slots.filter((s) => s.target === target);
    if (!slots.length) return null;
    const since = slots.map((s) => s.healthSince).filter((at): at is number => at !== null);
    return { health: this.health(target), since: since.length ? Math.max(...since) : null };
  }

  /** Called with every change of a target's health; returns the unsubscribe function. */
  onHealth(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after anything procedures() or runs() show may have changed (a probe, a step, an approval). */
  onChange(listener: () => void): () => void {
    return this.changes.add(listener);
  }

  /**
   * The forwarder's TargetGate for `target`: up unless the runbook reports it down (unknown
   * counts as up); `onChange` fires when that verdict flips, e.g. on the run's verified recovery.
   */
  gate(target: string): TargetGate {
    return {
      isUp: () => this.health(target) !== 'down',
      onChange: (listener) => {
        let last = this.health(target) !== 'down';
        return this.onHealth((changed, health) => {
          const up = health !== 'down';
          if (changed !== target || up === last) return;
          last = up;
          listener(up);
        });
      },
    };
  }

  /** Registers `hook` under `name` (one per name); returns the unregister function. */
  onRestored(name: string, hook: RestoreHook): () => void {
    this.restoreHooks.set(name, hook);
    return () => {
      if (this.restoreHooks.get(name) === hook) this.restoreHooks.delete(name);
    };
  }

  procedures(): ProcedureSummary[] {
    return this.slots.map((slot) => {
      const { state, procedure } = slot;
      const run = state.run;
      const stage = run ? procedure.stages[run.stage] : undefined;
      return {
        name: slot.name,
        target: slot.target,
        description: procedure.description ?? null,
        health: state.health,
        probeEveryMs: procedure.probe.every,
        lastProbe: state.lastProbe,
        restartsUsed: state.restarts.filter((at) => at > this.clock.now() - procedure.budget.window).length,
        restartBudget: procedure.budget.restarts,
        escalated: state.escalated,
        run: run
          ? {
              id: run.id,
              status: run.status,
              stage: stage?.name ?? '',
              step: stage?.steps[run.step]?.id ?? null,
              startedBy: run.startedBy,
              awaiting: run.awaiting
                ? {
                    id: run.awaiting,
                    text: slot.awaitingText ?? '',
                    manual: stage?.steps[run.step]?.type === 'manual' && !run.awaiting.startsWith('stage:'),
                    approvals: this.options.config.approvals,
                    approvedBy: [...run.approvers],
                  }
                : null,
            }
          : null,
        lastRun: state.lastRun,
      };
    });
  }

  runs(options: { limit?: number; procedure?: string } = {}): RunRecord[] {
    return this.audit.runs({ limit: options.limit ?? 50, procedure: options.procedure });
  }

  dryRun(name: string): string {
    const slot = this.slot(name);
    return this.redact(renderPlan(name, slot.procedure, slot.state, this.clock.now()));
  }

  /** Approves a destructive step (or confirms a manual one) the run is waiting for. */
  approve(runId: string, stepId: string, by: string): ProcedureSummary {
    const slot = this.slots.find((s) => s.state.run?.id === runId);
    if (!slot) throw CentralErrors.noActiveRun(runId);
    const rejected = this.dispatch(slot, { type: 'approve', runId, stepId, by });
    if (rejected) throw CentralErrors.approvalRefused(rejected);
    this.audit.note({ runId, procedure: slot.name, stepId, phase: 'approval', what: `approved ${stepId}`, by, at: this.clock.now() });
    this.changes.fire();
    return this.procedures().find((p) => p.name === slot.name)!;
  }

  /** Refuses the step a run waits for: the run ends failed, and nothing more runs until the target is healthy again. */
  reject(runId: string, stepId: string, by: string, reason: string): ProcedureSummary {
    const slot = this.slots.find((s) => s.state.run?.id === runId);
    if (!slot) throw CentralErrors.noActiveRun(runId);
    const rejected = this.dispatch(slot, { type: 'reject', runId, stepId, by, reason });
    if (rejected) throw CentralErrors.approvalRefused(rejected);
    this.audit.note({ runId, procedure: slot.name, stepId, phase: 'approval', what: `rejected ${stepId}: ${this.redact(reason)}`, by, at: this.clock.now() });
    this.changes.fire();
    return this.procedures().find((p) => p.name === slot.name)!;
  }

  /** Starts a procedure by hand (a planned failover); its stages run whatever the target's health says. */
  startByHand(name: string, by: string, reason: string): ProcedureSummary {
    const slot = this.slot(name);
    if (!this.running) throw CentralErrors.notLeader('the runbook engine');
    const rejected = this.dispatch(slot, { type: 'start', by, reason });
    if (rejected) throw CentralErrors.runActive(rejected);
    return this.procedures().find((p) => p.name === slot.name)!;
  }

  /** Probes a procedure's target now instead of at its next interval (dashboard "check now"). */
  async probeNow(name: string): Promise<void> {
    const slot = this.slot(name);
    // A probe already under way may have started before what the caller wants checked.
    if (slot.probing) await slot.probing;
    await this.probe(slot);
  }

  // ---- the loop --------------------------------------------------------------------------

  private slot(name: string): Slot {
    const slot = this.slots.find((s) => s.name === name);
    if (!slot) throw CentralErrors.noProcedure(name);
    return slot;
  }

  private scheduleProbe(slot: Slot, delayMs: number): void {
    if (!this.running) return;
    if (slot.probeTimer) clearTimeout(slot.probeTimer);
    slot.probeTimer = setTimeout(() => {
      slot.probeTimer = null;
      this.track(this.probe(slot).finally(() => this.scheduleProbe(slot, slot.procedure.probe.every)));
    }, delayMs);
  }

  private probe(slot: Slot): Promise<void> {
    // While the run is executing work its own checks decide; probes resume when it waits or ends.
    if (slot.probing || slot.busy > 0) return slot.probing ?? Promise.resolve();
    slot.probing = (async () => {
      try {
        const began = performance.now();
        const outcome = await this.runChecks(slot, slot.procedure.probe.checks);
        this.recordSample(slot, performance.now() - began, outcome.ok);
        if (!this.running || slot.busy > 0) return;
        const locked = this.slots.some((other) => other !== slot && other.target === slot.target && other.state.run !== null);
        this.dispatch(slot, { type: 'probe', ok: outcome.ok, detail: this.redact(outcome.detail), locked });
      } finally {
        slot.probing = null;
      }
    })();
    return slot.probing;
  }

  /** Per target: response time p50/p95, error rate and uptime (24 h, 30 d) of its timed probes. */
  figures(): TargetFigures[] {
    const now = this.clock.now();
    const targets = [...new Set(this.slots.map((s) => s.target))];
    return targets.map((target) => figuresOf(target, this.samples.since(target, now - 30 * 86_400_000), now));
  }

  /** Keeps a timed probe; slow or erroring before down opens `runbook:<target>:degraded`, which clears when it is not. */
  private recordSample(slot: Slot, ms: number, ok: boolean): void {
    const now = this.clock.now();
    const { probe } = slot.procedure;
    this.samples.add(slot.target, { at: now, ms, ok });
    if (now - this.prunedAt > 3_600_000) {
      this.samples.prune(now);
      this.prunedAt = now;
    }
    const rule = { windowMs: probe.degradedWindow, slowMs: probe.slowMs, errorRate: probe.errorRate, minSamples: probe.degradedMinSamples };
    const verdict = this.health(slot.target) === 'down' ? null : degradedVerdict(this.samples.since(slot.target, now - probe.degradedWindow), now, rule);
    const key = `runbook:${slot.target}:degraded`;
    if (verdict) {
      this.options.incidents.raise({ key, title: `${slot.target} is ${verdict.why === 'slow' ? 'slow' : 'erroring'}`, severity: 'minor', detail: `${verdict.detail}; not down yet` });
    } else {
      this.options.incidents.clear(key, 'answers in time again');
    }
  }

  private prunedAt = 0;

  /** Runs the planner on one event, applies its effects and starts its work; returns a refusal. */
  private dispatch(slot: Slot, event: RunbookEvent): string | undefined {
    const decision = slot.planner(slot.state, event, this.clock.now());
    if (decision.rejected) return decision.rejected;
    slot.state = decision.state;
    for (const effect of decision.effects) this.apply(slot, effect);
    this.syncRunStatus(slot);
    if (slot.wakeTimer) clearTimeout(slot.wakeTimer);
    slot.wakeTimer = null;
    if (decision.wakeAt !== null && this.running) {
      slot.wakeTimer = setTimeout(() => this.dispatch(slot, { type: 'tick' }), Math.max(0, decision.wakeAt - this.clock.now()));
    }
    for (const work of decision.work) this.track(this.execute(slot, work));
    this.changes.fire();
    return undefined;
  }

  /** Keeps the audited run status (shown on the dashboard) in step with the planner's. */
  private syncRunStatus(slot: Slot): void {
    const run = slot.state.run;
    if (!run) {
      slot.auditedStatus = null;
      return;
    }
    if (run.status !== 'awaiting-approval') slot.awaitingText = null;
    const status = `${run.status}:${slot.awaitingText ?? ''}`;
    if (slot.auditedStatus === status) return;
    slot.auditedStatus = status;
    this.audit.runStatus(run.id, run.status, slot.awaitingText && run.awaiting ? { stepId: run.awaiting, text: slot.awaitingText } : null);
  }

  private apply(slot: Slot, effect: Effect): void {
    const at = this.clock.now();
    const key = `runbook:${slot.target}`;
    switch (effect.kind) {
      case 'run-started':
        this.audit.runStarted({ id: effect.runId, procedure: slot.name, target: slot.target, reason: this.redact(effect.reason), at, startedBy: slot.state.run?.startedBy ?? null });
        this.log.warn({ procedure: slot.name, run: effect.runId, reason: this.redact(effect.reason) }, 'runbook run started');
        return;
      case 'run-finished':
        this.audit.runFinished(effect.runId, effect.status, this.redact(effect.reason), at);
        this.log.info({ procedure: slot.name, run: effect.runId, status: effect.status, reason: this.redact(effect.reason) }, 'runbook run finished');
        // A run started by hand ends with a healthy target that never changed health: its notices go now.
        if (effect.status === 'resolved') this.clearNotices(slot, effect.runId);
        return;
      case 'health':
        slot.healthSince = at;
        if (effect.health === 'up') this.clearNotices(slot, null);
        for (const listener of this.listeners) {
          try {
            listener(slot.target, this.health(slot.target), this.redact(effect.detail));
          } catch (error) {
            this.log.error({ err: error }, 'runbook health listener failed');
          }
        }
        return;
      case 'raise': {
        const incident = this.options.incidents.raise({
          key,
          title: slot.procedure.incident.title ?? `${slot.target} is down`,
          severity: effect.severity,
          detail: this.redact(effect.detail),
        });
        slot.incidentId = incident.id;
        return;
      }
      case 'clear':
        this.options.incidents.clear(key, this.redact(effect.detail));
        slot.incidentId = null;
        return;
      case 'note': {
        const text = this.redact(effect.text);
        this.audit.note({ runId: effect.runId, procedure: slot.name, stepId: null, phase: 'note', what: text, by: 'runbook', at });
        if (slot.incidentId) this.options.incidents.note(slot.incidentId, 'runbook', text);
        return;
      }
      case 'awaiting':
        slot.awaitingText = this.redact(effect.text);
        this.log.warn({ procedure: slot.name, run: effect.runId, step: effect.stepId }, `runbook waits: ${slot.awaitingText}`);
        return;
    }
  }

  /** Notices a procedure posted for `slot`'s target stay until the target is verified up. */
  private noticeSource(slot: Slot): string {
    return `runbook:${slot.target}`;
  }

  private clearNotices(slot: Slot, runId: string | null): void {
    const notices = this.options.notices;
    if (!notices) return;
    this.track(
      notices.clearSource(this.noticeSource(slot), 'runbook').then((ids) => {
        if (!ids.length) return;
        const what = `notice(s) ${ids.join(', ')} cleared: ${slot.target} is verified up`;
        this.log.info({ procedure: slot.name, notices: ids }, what);
        if (runId) this.audit.note({ runId, procedure: slot.name, stepId: null, phase: 'note', what, by: 'runbook', at: this.clock.now() });
      }),
    );
  }

  private track(promise: Promise<void>): void {
    const tracked = promise.catch((error: unknown) => this.log.error({ err: error }, 'runbook work failed unexpectedly'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  // ---- executing work --------------------------------------------------------------------

  private async execute(slot: Slot, work: Work): Promise<void> {
    slot.busy++;
    const what = this.redact(this.describeWork(work));
    const by = work.kind === 'act' && work.approvedBy ? `${work.approvedBy} (approved)` : 'runbook';
    const seq = this.audit.stepStarted({
      runId: work.runId,
      procedure: slot.name,
      stepId: work.stepId,
      phase: work.kind === 'check' ? work.phase : work.kind,
      what,
      by,
      at: this.clock.now(),
      restart: work.kind === 'act' && countsAsRestart(work.step),
    });
    let outcome: StepOutcome & { prepared?: Prepared };
    try {
      outcome = await this.perform(slot, work);
    } catch (error) {
      outcome = { ok: false, detail: (error as Error).message };
    } finally {
      slot.busy--;
    }
    const redacted = { ...outcome, detail: this.redact(outcome.detail), output: outcome.output === undefined ? undefined : this.redact(outcome.output) };
    this.audit.stepFinished(seq, redacted, this.clock.now());
    this.log.info({ procedure: slot.name, run: work.runId, step: work.stepId, kind: work.kind, ok: outcome.ok, exitCode: outcome.exitCode }, `runbook ${what}: ${redacted.detail}`);
    if (!this.running) return;
    this.dispatch(slot, { type: 'done', workId: work.id, ok: outcome.ok, detail: redacted.detail, prepared: outcome.prepared });
  }

  private describeWork(work: Work): string {
    switch (work.kind) {
      case 'check':
        return `${work.phase}${work.stepId ? ` ${work.stepId}` : ''}: ${work.wait ? `wait up to ${work.wait.timeoutMs} ms for ` : ''}${describeProbes(work.probes)}`;
      case 'prepare':
        return `prepare ${describeStep(work.step)}`;
      case 'act':
      case 'announce':
        return describeStep(work.step);
    }
  }

  private async perform(slot: Slot, work: Work): Promise<StepOutcome & { prepared?: Prepared }> {
    switch (work.kind) {
      case 'check':
        return work.wait ? this.waitFor(slot, work.probes, work.wait.timeoutMs, work.wait.intervalMs) : this.runChecks(slot, work.probes);
      case 'prepare':
        return this.prepare(slot, work.step);
      case 'act':
        return this.act(slot, work.step, work.params, work.runId);
      case 'announce':
        return this.announce(slot, work.step, work.id);
    }
  }

  /** Tells ops (notify) or the staff (notice); ok only once a channel accepted it, or the notice is stored and published. */
  private async announce(slot: Slot, step: AnnounceStep, key: string): Promise<StepOutcome> {
    if (step.type === 'notice') {
      const notices = this.options.notices;
      if (!notices) return { ok: false, detail: 'notice not posted: notices do not run in this central' };
      const notice = await notices.post({ severity: step.severity, text: step.text }, this.noticeSource(slot), 'runbook');
      return { ok: true, detail: `notice ${notice.id} (${step.severity}) posted for the staff at every point: ${step.text.en}` };
    }
    const notifier = this.options.notifier;
    if (!notifier) return { ok: false, detail: 'not notified: notifications do not run in this central' };
    if (!slot.incidentId) return { ok: false, detail: `not notified: ${slot.target} has no open incident to notify about` };
    const outcome = await notifier.announce({ incidentId: slot.incidentId, severity: step.severity, text: step.text, key }, step.timeoutMs);
    if (!outcome.delivered) return { ok: false, detail: `not notified (${step.severity}): ${outcome.reason}` };
    const refused = outcome.failed.length ? `; not by ${outcome.failed.join('; ')}` : '';
    return { ok: true, detail: `notified (${step.severity}) on ${outcome.channel}: accepted by ${outcome.accepted.join(', ')}${refused}` };
  }

  private runChecks(slot: Slot, probes: readonly ProbeSpec[]): Promise<ProbeOutcome> {
    const monitor = slot.monitor;
    return runProbes(probes, {
      redact: this.redact,
      tailBytes: this.options.config.outputTailBytes,
      chain: monitor ? () => monitor.probe() : undefined,
    });
  }

  private async waitFor(slot: Slot, probes: readonly ProbeSpec[], timeoutMs: number, intervalMs: number): Promise<ProbeOutcome> {
    const deadline = Date.now() + timeoutMs;
    let attempts = 0;
    for (;;) {
      attempts++;
      const outcome = await this.runChecks(slot, probes);
      if (outcome.ok) return { ...outcome, detail: `${outcome.detail} (after ${attempts} probe(s))` };
      if (Date.now() + intervalMs > deadline || !this.running) {
        return { ...outcome, ok: false, detail: `not passing after ${timeoutMs} ms: ${outcome.detail}` };
      }
      await sleep(intervalMs);
    }
  }

  private async prepare(slot: Slot, step: ActionStep): Promise<StepOutcome & { prepared?: Prepared }> {
    if (step.type === 'restore-backup') {
      const backups = this.options.backups;
      if (!backups) return { ok: false, detail: 'backups are not configured in this central' };
      const backup = backups.newestRestorable(step.kind);
      if (!backup) return { ok: false, detail: `there is no ${step.kind === 'postgres' ? 'verified postgres' : step.kind} backup to restore` };
      const into = step.url ? `into ${step.url}` : step.kind === 'config' ? 'over the paths in backups.config' : 'through backups.chain.restore';
      const summary = `restore backup ${backup.id} taken ${new Date(backup.finishedAt ?? 0).toISOString()} (${backup.size} bytes, sha256 ${backup.sha256.slice(0, 12)}…) ${into}`;
      return { ok: true, detail: summary, prepared: { summary, params: { backupId: backup.id, takenAt: String(backup.startedAt) } } };
    }
    if (step.type === 'chain-restore') {
      const common = await slot.monitor!.lastCommonBlock();
      if (!common) return { ok: false, detail: 'the live chain nodes share no block (or none is up)' };
      const summary = `the last block every live node agrees on is ${common.height} (hash ${common.hash}); restore all nodes from it`;
      return { ok: true, detail: summary, prepared: { summary, params: { height: String(common.height), hash: common.hash } } };
    }
    return { ok: false, detail: `nothing to prepare for ${step.type}` };
  }

  private async act(slot: Slot, step: ActionStep, params: Record<string, string>, runId: string): Promise<StepOutcome> {
    const tail = this.options.config.outputTailBytes;
    switch (step.type) {
      case 'command': {
        const result = await runCommand(step, { redact: this.redact, tailChars: tail });
        return {
          ok: !result.timedOut && !result.error && result.exitCode === step.expectExit,
          detail: describeCommandResult(step, result, this.redact),
          exitCode: result.exitCode,
          output: result.output,
        };
      }
      case 'http': {
        const response = await httpRequest({ url: step.url, method: step.method, headers: step.headers, body: step.body, timeoutMs: step.timeoutMs, redirects: 'follow' });
        const ok = step.expectStatus.includes(response.status);
        return { ok, detail: `${step.method} ${step.url} answered ${response.status}`, output: response.body.toString('utf8').slice(-tail) };
      }
      case 'restore-backup': {
        if (!this.options.backups || !params.backupId) return { ok: false, detail: 'no backup was prepared for this restore' };
        const restored = await this.options.backups.restore(params.backupId, step.url, step.timeoutMs);
        if (restored.ok && step.reforward && step.url) {
          await this.afterRestore(slot, step.id, { procedure: slot.name, runId, backupId: params.backupId, url: step.url, takenAt: Number(params.takenAt) });
        }
        return restored;
      }
      case 'chain-restart':
        return this.restartChainNodes(slot, step.nodeTimeoutMs);
      case 'chain-restore':
        return this.restoreChain(slot, step, params);
    }
  }

  /** Each restore hook in turn, each audited as a step of the run with what it did; a failing hook fails only its own line. */
  private async afterRestore(slot: Slot, stepId: string, restored: RestoredBackup): Promise<void> {
    for (const [name, hook] of this.restoreHooks) {
      const what = `${name} after restoring backup ${restored.backupId} (dump taken ${new Date(restored.takenAt).toISOString()})`;
      const seq = this.audit.stepStarted({ runId: restored.runId, procedure: slot.name, stepId, phase: 'after-restore', what, by: 'runbook', at: this.clock.now() });
      let outcome: StepOutcome;
      let count: number | null = null;
      try {
        const done = await withTimeout(hook(restored), RESTORE_HOOK_TIMEOUT_MS, `the ${name} restore hook`);
        count = done.count;
        outcome = { ok: true, detail: done.detail };
      } catch (error) {
        outcome = { ok: false, detail: `${name} failed after the restore: ${(error as Error).message}` };
      }
      const detail = this.redact(outcome.detail);
      this.audit.stepFinished(seq, { ...outcome, detail }, this.clock.now());
      if (slot.incidentId) this.options.incidents.note(slot.incidentId, 'runbook', detail);
      const fields = { procedure: slot.name, run: restored.runId, hook: name, count };
      if (outcome.ok) this.log.info(fields, `runbook ${what}: ${detail}`);
      else this.log.error(fields, `runbook ${what}: ${detail}`);
    }
  }

  private async restartChainNodes(slot: Slot, nodeTimeoutMs: number): Promise<StepOutcome> {
    const monitor = slot.monitor!;
    const analysis = monitor.lastAnalysis ?? (await monitor.probe()).analysis;
    const names = analysis.faulty.length ? analysis.faulty : monitor.order;
    const lines: string[] = [];
    const outputs: string[] = [];
    for (const name of names) {
      const node = monitor.node(name);
      if (!node.restart) return { ok: false, detail: [...lines, `chain node ${name} has no restart command configured`].join('; ') };
      const result = await runCommand(node.restart, { redact: this.redact, tailChars: this.options.config.outputTailBytes });
      lines.push(`${name}: ${describeCommandResult(node.restart, result, this.redact)}`);
      outputs.push(`[${name}] ${result.output}`);
      if (result.timedOut || result.exitCode !== 0) return { ok: false, detail: lines.join('; '), exitCode: result.exitCode, output: outputs.join('\n') };
      monitor.forget(name);
      await monitor.waitForNode(name, nodeTimeoutMs);
      lines.push(`${name} answers again`);
    }
    return { ok: true, detail: `restarted ${names.join(', ')} in order: ${lines.join('; ')}`, exitCode: 0, output: outputs.join('\n') };
  }

  private async restoreChain(slot: Slot, step: Extract<ActionStep, { type: 'chain-restore' }>, params: Record<string, string>): Promise<StepOutcome> {
    const monitor = slot.monitor!;
    const lines: string[] = [];
    const outputs: string[] = [];
    for (const name of monitor.order) {
      const node = monitor.node(name);
      const values: Record<string, string> = { ...params, node: name, url: node.url };
      const argv = step.argv.map((arg) => arg.replace(/\{(node|url|height|hash)\}/g, (_, key: string) => values[key] ?? '')) as [string, ...string[]];
      const spec = { argv, env: step.env, timeoutMs: step.timeoutMs };
      const result = await runCommand(spec, { redact: this.redact, tailChars: this.options.config.outputTailBytes });
      lines.push(`${name}: ${describeCommandResult(spec, result, this.redact)}`);
      outputs.push(`[${name}] ${result.output}`);
      if (result.timedOut || result.exitCode !== 0) return { ok: false, detail: lines.join('; '), exitCode: result.exitCode, output: outputs.join('\n') };
      monitor.forget(name);
    }
    return { ok: true, detail: `restored from block ${params.height}: ${lines.join('; ')}`, exitCode: 0, output: outputs.join('\n') };
  }
}

/** Passwords in any URL of the config and values of secret-looking headers/env are secrets too. */
function configSecrets(config: RecoveryConfig): string[] {
  const urls: string[] = [];
  const values: string[] = [];
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) urls.push(value);
      if (/password|secret|token|authorization|api[_-]?key/i.test(key)) values.push(value.replace(/^(bearer|basic)\s+/i, ''));
    } else if (Array.isArray(value)) {
      value.forEach((item) => walk(item, key));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(config.procedures, '');
  return [...urlPasswords(urls), ...values];
}
