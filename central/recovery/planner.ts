/**
 * The runbook planner: a pure function (state, event, now) → (state, work, effects). It owns every
 * decision — when a run starts, which step is next, when approval is needed, when the restart
 * budget stops us, when a stage overran its window — and does no I/O: the engine executes the
 * `work` it returns and feeds the outcomes back as events.
 */
import type { Severity } from '../incidents/types.js';
import { isAction, needsApproval, type ActionStep, type AnnounceStep, type Procedure, type ProbeSpec, type Step } from './config.js';
import { formatDuration } from '../../lib/duration.js';
import { describeStep } from './describe.js';

export type Health = 'up' | 'down' | 'unknown';
export type RunStatus = 'running' | 'waiting' | 'awaiting-approval' | 'resolved' | 'failed';
export type Phase = 'window' | 'stage-prepare' | 'step' | 'prepare' | 'approval' | 'before' | 'act' | 'after' | 'verify';

/** Values a `prepare` found (the backup to restore, the last common block), shown in the approval. */
export interface Prepared {
  summary: string;
  params: Record<string, string>;
}

export interface RunState {
  id: string;
  startedAt: number;
  reason: string;
  status: RunStatus;
  stage: number;
  attempt: number;
  step: number;
  phase: Phase;
  /** The work item whose outcome the run waits for; outcomes of any other are stale. */
  workId: string | null;
  /** Something was changed: from here on the procedure finishes its sequence even if health returns. */
  acted: boolean;
  /** The budget stopped a restart in this stage: no more attempts of it. */
  budgetBlocked: boolean;
  prepared: Record<string, Prepared>;
  /** Approver by step id (and by `stage:<name>` for a stage approval): one name, or two joined by " and ". */
  approvals: Record<string, string>;
  /** Approvals given so far for the step awaited, when it needs more than one. */
  approvers: string[];
  /** Who started the run by hand; null when a failed probe started it. */
  startedBy: string | null;
  /** The step id (or `stage:<name>`) the run waits for a person on. */
  awaiting: string | null;
  overranStages: number[];
}

export interface TargetState {
  procedure: string;
  health: Health;
  failures: number;
  /** When each counted restart ran (pruned to the budget window). */
  restarts: number[];
  /** A run ended with the target still down: no new run until it is seen healthy. */
  escalated: boolean;
  incidentOpen: boolean;
  runSeq: number;
  run: RunState | null;
  lastProbe: { at: number; ok: boolean; detail: string } | null;
  lastRun: { id: string; status: RunStatus; reason: string; at: number } | null;
}

export type CheckPhase = 'probe' | 'wait' | 'before' | 'after' | 'verify';

export type Work =
  | { kind: 'check'; id: string; runId: string; stepId: string | null; phase: CheckPhase; probes: ProbeSpec[]; wait: { timeoutMs: number; intervalMs: number } | null }
  | { kind: 'prepare'; id: string; runId: string; stepId: string; step: ActionStep }
  | { kind: 'act'; id: string; runId: string; stepId: string; step: ActionStep; params: Record<string, string>; approvedBy: string | null }
  /** Tell people (a notify or notice step): done once a channel accepted it, or the notice is posted. */
  | { kind: 'announce'; id: string; runId: string; stepId: string; step: AnnounceStep };

export type Effect =
  | { kind: 'run-started'; runId: string; reason: string }
  | { kind: 'run-finished'; runId: string; status: 'resolved' | 'failed'; reason: string }
  | { kind: 'health'; health: Health; detail: string }
  | { kind: 'raise'; severity: Severity; detail: string }
  | { kind: 'clear'; detail: string }
  | { kind: 'note'; runId: string; text: string }
  | { kind: 'awaiting'; runId: string; stepId: string; text: string; manual: boolean };

export type RunbookEvent =
  | { type: 'probe'; ok: boolean; detail: string; /** another procedure holds the target's lock */ locked?: boolean }
  | { type: 'done'; workId: string; ok: boolean; detail: string; prepared?: Prepared }
  | { type: 'approve'; runId: string; stepId: string; by: string }
  /** A person refuses the step the run waits for: the run ends failed. */
  | { type: 'reject'; runId: string; stepId: string; by: string; reason: string }
  /** A person starts the procedure by hand (a planned failover): its stages run whatever the target's health. */
  | { type: 'start'; by: string; reason: string }
  | { type: 'tick' };

export interface Decision {
  state: TargetState;
  work: Work[];
  effects: Effect[];
  /** When the planner wants a `tick` (a stage window opens or closes). */
  wakeAt: number | null;
  /** Why an event was refused (e.g. approving a step the run is not waiting for). */
  rejected?: string;
}

export function initialState(procedure: string, restarts: number[] = []): TargetState {
  return {
    procedure,
    health: 'unknown',
    failures: 0,
    restarts: [...restarts],
    escalated: false,
    incidentOpen: false,
    runSeq: 0,
    run: null,
    lastProbe: null,
    lastRun: null,
  };
}

export type Planner = (state: TargetState, event: RunbookEvent, now: number) => Decision;

export interface PlannerOptions {
  /** Different people who must approve a destructive step (1 or 2); whoever started the run by hand is not one of them. */
  approvals?: number;
}

export function createPlanner(procedure: Procedure, options: PlannerOptions = {}): Planner {
  const approvals = options.approvals ?? 1;
  return (state, event, now) => new Turn(procedure, structuredClone(state), now, approvals).handle(event);
}

/** One planner call: mutates its own copy of the state and collects work and effects. */
class Turn {
  private readonly work: Work[] = [];
  private readonly effects: Effect[] = [];
  private rejected: string | undefined;

  constructor(
    private readonly procedure: Procedure,
    private readonly state: TargetState,
    private readonly now: number,
    private readonly approvalsNeeded: number,
  ) {}

  handle(event: RunbookEvent): Decision {
    this.pruneRestarts();
    switch (event.type) {
      case 'probe':
        this.onProbe(event.ok, event.detail, event.locked ?? false);
        break;
      case 'done':
        this.onDone(event.workId, event.ok, event.detail, event.prepared);
        break;
      case 'approve':
        this.onApprove(event.runId, event.stepId, event.by);
        break;
      case 'start':
        this.onStart(event.by, event.reason);
        break;
      case 'reject':
        this.onReject(event.runId, event.stepId, event.by, event.reason);
        break;
      case 'tick':
        this.onTick();
        break;
    }
    this.checkOverrun();
    const decision: Decision = { state: this.state, work: this.work, effects: this.effects, wakeAt: this.wakeAt() };
    if (this.rejected !== undefined) decision.rejected = this.rejected;
    return decision;
  }

  // ---- events ----------------------------------------------------------------------------

  private onProbe(ok: boolean, detail: string, locked: boolean): void {
    const { state } = this;
    state.lastProbe = { at: this.now, ok, detail };
    const run = state.run;
    if (ok) {
      state.failures = 0;
      // A run started by hand was not started by a failure: the target being healthy does not end it.
      if (run && !run.acted && !run.startedBy && (run.status === 'awaiting-approval' || run.status === 'waiting')) {
        this.finish('resolved', `healthy again before anything was changed: ${detail}`);
      } else if (!run) {
        this.markHealthy(detail);
      }
      return;
    }
    state.failures++;
    if (run || locked || state.failures < this.procedure.probe.failAfter) return;
    if (state.escalated) {
      this.setHealth('down', detail);
      return;
    }
    this.startRun(detail);
  }

  private onDone(workId: string, ok: boolean, detail: string, prepared: Prepared | undefined): void {
    const run = this.state.run;
    if (!run || run.workId !== workId) return; // stale: the run moved on or ended
    run.workId = null;
    const step = this.currentStep();
    if (run.phase === 'verify') {
      this.onVerified(ok, detail);
      return;
    }
    if (run.phase === 'stage-prepare') {
      this.onStagePrepared(step!, ok, detail, prepared);
      return;
    }
    if (!step) return;
    switch (run.phase) {
      case 'step':
        if (ok && (step.type === 'notify' || step.type === 'notice')) this.note(`${step.id}: ${detail}`);
        if (ok) this.nextStep();
        else this.stepFailed(step, detail);
        return;
      case 'prepare':
        if (ok && prepared) {
          run.prepared[step.id] = prepared;
          this.note(`${step.id}: ${prepared.summary}`);
          this.toApproval(step as ActionStep);
        } else {
          this.stepFailed(step, `could not prepare: ${detail}`);
        }
        return;
      case 'before':
        this.afterBeforeCheck(step as ActionStep, ok, detail);
        return;
      case 'act':
        if (ok) this.toAfter(step as ActionStep);
        else this.stepFailed(step, detail);
        return;
      case 'after':
        if (ok || !(step as ActionStep).after) this.nextStep();
        else this.stepFailed(step, `postcondition not met: ${detail}`);
        return;
      default:
        return;
    }
  }

  /** The run waiting for `stepId`, or null with `rejected` saying why not. */
  private awaitingRun(runId: string, stepId: string): RunState | null {
    const run = this.state.run;
    if (!run || run.id !== runId) {
      this.rejected = `run ${runId} is not active for ${this.state.procedure}`;
      return null;
    }
    if (run.phase !== 'approval' || !this.currentStep() || run.awaiting !== stepId) {
      this.rejected = `run ${runId} is not waiting for "${stepId}"${run.awaiting ? ` (it waits for "${run.awaiting}")` : ''}`;
      return null;
    }
    return run;
  }

  private onReject(runId: string, stepId: string, by: string, reason: string): void {
    if (!this.awaitingRun(runId, stepId)) return;
    this.finish('failed', `${stepId} rejected by ${by}: ${reason}`);
  }

  private onApprove(runId: string, stepId: string, by: string): void {
    const run = this.awaitingRun(runId, stepId);
    if (!run) return;
    const step = this.currentStep()!;
    if (run.startedBy === by && this.approvalsNeeded > 1) {
      this.rejected = `${by} started this run by hand, so cannot be one of its ${this.approvalsNeeded} approvers`;
      return;
    }
    if (run.approvers.includes(by)) {
      this.rejected = `${by} has approved "${stepId}" already: it needs ${this.approvalsNeeded} different approvers`;
      return;
    }
    run.approvers.push(by);
    if (run.approvers.length < this.approvalsNeeded) {
      this.note(`${stepId}: approved by ${by}; waiting for ${this.approvalsNeeded - run.approvers.length} more approver(s)`);
      return;
    }
    by = run.approvers.join(' and ');
    run.approvers = [];
    run.approvals[stepId] = by;
    run.awaiting = null;
    run.status = 'running';
    if (stepId.startsWith('stage:')) {
      const stage = this.procedure.stages[run.stage]!;
      for (const each of stage.steps) if (isAction(each)) run.approvals[each.id] = by;
      this.note(`stage "${stage.name}" approved by ${by}`);
      run.step = 0;
      this.beginStep();
    } else if (step.type === 'manual') {
      this.note(`${step.id}: confirmed done by ${by}`);
      this.nextStep();
    } else {
      this.note(`${step.id}: approved by ${by}`);
      this.toBefore(step as ActionStep);
    }
  }

  private onStart(by: string, reason: string): void {
    const run = this.state.run;
    if (run) {
      this.rejected = `run ${run.id} of ${this.state.procedure} is still active: wait for it to end`;
      return;
    }
    this.startRun(`started by hand by ${by}: ${reason}`, by);
  }

  private onTick(): void {
    const run = this.state.run;
    if (run?.phase === 'window' && this.now >= this.stageStart()) this.openStage();
  }

  // ---- run and stage flow ----------------------------------------------------------------

  private startRun(detail: string, startedBy: string | null = null): void {
    const { state, procedure } = this;
    state.runSeq++;
    const id = `${state.procedure}-${this.now.toString(36)}-${state.runSeq}`;
    state.run = {
      id,
      startedAt: this.now,
      reason: detail,
      status: 'running',
      stage: 0,
      attempt: 1,
      step: 0,
      phase: 'step',
      workId: null,
      acted: false,
      budgetBlocked: false,
      prepared: {},
      approvals: {},
      approvers: [],
      startedBy,
      awaiting: null,
      overranStages: [],
    };
    this.effects.push({ kind: 'run-started', runId: id, reason: detail });
    if (startedBy) {
      this.raise(procedure.incident.severity, `${this.title()}: procedure ${detail}`);
    } else {
      this.setHealth('down', detail);
      this.raise(procedure.incident.severity, `${this.title()} is down: ${detail}`);
    }
    this.enterStage(0, 1);
  }

  private enterStage(index: number, attempt: number): void {
    const run = this.state.run!;
    const stage = this.procedure.stages[index];
    if (!stage) {
      this.finish('failed', 'every stage ran and the target is still down');
      return;
    }
    if (index !== run.stage) run.budgetBlocked = false;
    run.stage = index;
    run.attempt = attempt;
    run.step = 0;
    this.note(`stage "${stage.name}" starts (attempt ${attempt} of ${stage.attempts})`);
    if (this.now < this.stageStart()) {
      run.phase = 'window';
      run.status = 'waiting';
      this.note(`stage "${stage.name}" waits for its window (${formatDuration(stage.window.from)} after detection)`);
      return;
    }
    this.openStage();
  }

  /** A stage with `approval` prepares what its steps will use, then asks once for all of them. */
  private openStage(): void {
    const run = this.state.run!;
    const stage = this.procedure.stages[run.stage]!;
    if (stage.approval && !this.procedure.auto && !run.approvals[stageKey(stage.name)]) {
      this.prepareStageFrom(0);
      return;
    }
    this.beginStep();
  }

  private prepareStageFrom(index: number): void {
    const run = this.state.run!;
    const stage = this.procedure.stages[run.stage]!;
    const next = stage.steps.findIndex((step, i) => i >= index && needsPrepare(step) && !run.prepared[step.id]);
    if (next === -1) {
      run.step = 0;
      run.phase = 'approval';
      run.status = 'awaiting-approval';
      run.awaiting = stageKey(stage.name);
      const prepared = stage.steps.map((step) => run.prepared[step.id]?.summary).filter(Boolean);
      const text = `needs approval: stage "${stage.name}": ${stage.steps.map((step) => describeStep(step)).join(' → ')}${prepared.length ? ` — ${prepared.join('; ')}` : ''}`;
      this.effects.push({ kind: 'awaiting', runId: run.id, stepId: run.awaiting, text, manual: false });
      this.note(text);
      return;
    }
    run.step = next;
    run.phase = 'stage-prepare';
    run.workId = this.workId('prepare');
    this.work.push({ kind: 'prepare', id: run.workId, runId: run.id, stepId: stage.steps[next]!.id, step: stage.steps[next] as ActionStep });
  }

  private onStagePrepared(step: Step, ok: boolean, detail: string, prepared: Prepared | undefined): void {
    const run = this.state.run!;
    if (ok && prepared) {
      run.prepared[step.id] = prepared;
      this.note(`${step.id}: ${prepared.summary}`);
      this.prepareStageFrom(run.step + 1);
      return;
    }
    this.note(`${step.id} could not be prepared: ${detail}; the stage is not run`);
    this.endStage();
  }

  private beginStep(): void {
    const run = this.state.run!;
    run.status = 'running';
    const step = this.currentStep();
    if (!step) {
      this.endStage();
      return;
    }
    if (isAction(step)) {
      this.beginAction(step);
      return;
    }
    switch (step.type) {
      case 'probe':
        this.check('step', 'probe', step.probes, null);
        return;
      case 'wait':
        this.check('step', 'wait', step.probes ?? this.procedure.probe.checks, { timeoutMs: step.timeoutMs, intervalMs: step.intervalMs });
        return;
      case 'manual':
        this.await(step, true);
        return;
      case 'notify':
        this.raise(step.severity, step.text);
        this.announce(step);
        return;
      case 'notice':
        this.announce(step);
        return;
    }
  }

  private beginAction(step: ActionStep): void {
    const run = this.state.run!;
    if (countsAsRestart(step) && this.state.restarts.length >= this.procedure.budget.restarts) {
      run.budgetBlocked = true;
      const text = `restart budget exhausted (${this.state.restarts.length} restarts in the last ${formatDuration(this.procedure.budget.window)}): "${step.id}" not run; escalating`;
      this.note(text);
      this.raise('critical', `${this.title()}: ${text}`);
      this.endStage();
      return;
    }
    if (needsPrepare(step) && !run.prepared[step.id]) {
      run.phase = 'prepare';
      run.workId = this.workId('prepare');
      this.work.push({ kind: 'prepare', id: run.workId, runId: run.id, stepId: step.id, step });
      return;
    }
    this.toApproval(step);
  }

  /** "Notified" only once a channel accepted it: the engine sends and reports back. */
  private announce(step: AnnounceStep): void {
    const run = this.state.run!;
    run.phase = 'step';
    run.workId = this.workId('announce');
    this.work.push({ kind: 'announce', id: run.workId, runId: run.id, stepId: step.id, step });
  }

  private toApproval(step: ActionStep): void {
    if (needsApproval(this.procedure, step) && !this.state.run!.approvals[step.id]) {
      this.await(step, false);
      return;
    }
    this.toBefore(step);
  }

  private toBefore(step: ActionStep): void {
    this.check('before', 'before', step.before ?? this.procedure.probe.checks, null);
  }

  private afterBeforeCheck(step: ActionStep, ok: boolean, detail: string): void {
    const run = this.state.run!;
    if (step.before) {
      if (ok) this.act(step);
      else this.stepFailed(step, `precondition not met: ${detail}`);
      return;
    }
    // Healthy and nothing changed yet: nothing to do — unless a person started the run to do it.
    if (ok && !run.acted && !run.startedBy) {
      this.finish('resolved', `healthy before "${step.id}", nothing to do: ${detail}`);
      return;
    }
    this.act(step);
  }

  private act(step: ActionStep): void {
    const run = this.state.run!;
    run.phase = 'act';
    run.acted = true;
    if (countsAsRestart(step)) this.state.restarts.push(this.now);
    run.workId = this.workId('act');
    this.work.push({
      kind: 'act',
      id: run.workId,
      runId: run.id,
      stepId: step.id,
      step,
      params: run.prepared[step.id]?.params ?? {},
      approvedBy: run.approvals[step.id] ?? null,
    });
  }

  private toAfter(step: ActionStep): void {
    const after = step.after;
    this.check('after', 'after', after?.probes ?? this.procedure.probe.checks, after ? { timeoutMs: after.timeoutMs, intervalMs: after.intervalMs } : null);
  }

  private stepFailed(step: Step, detail: string): void {
    this.note(`${step.id} failed: ${detail}`);
    const onFailure = 'onFailure' in step ? step.onFailure : 'next-stage';
    if (onFailure === 'continue') this.nextStep();
    else this.endStage();
  }

  private nextStep(): void {
    this.state.run!.step++;
    this.beginStep();
  }

  private endStage(): void {
    const run = this.state.run!;
    run.phase = 'verify';
    run.status = 'running';
    run.workId = this.workId('verify');
    this.work.push({ kind: 'check', id: run.workId, runId: run.id, stepId: null, phase: 'verify', probes: this.procedure.probe.checks, wait: null });
  }

  private onVerified(ok: boolean, detail: string): void {
    const run = this.state.run!;
    const stage = this.procedure.stages[run.stage]!;
    if (ok) {
      this.finish('resolved', `verified healthy after stage "${stage.name}": ${detail}`);
      return;
    }
    this.note(`after stage "${stage.name}" the target is still down: ${detail}`);
    if (run.attempt < stage.attempts && !run.budgetBlocked) this.enterStage(run.stage, run.attempt + 1);
    else this.enterStage(run.stage + 1, 1);
  }

  private finish(status: 'resolved' | 'failed', reason: string): void {
    const { state } = this;
    const run = state.run!;
    this.effects.push({ kind: 'run-finished', runId: run.id, status, reason });
    state.lastRun = { id: run.id, status, reason, at: this.now };
    state.run = null;
    if (status === 'resolved') {
      this.markHealthy(reason);
    } else {
      state.escalated = true;
      this.raise('critical', `${this.title()} is still down after its recovery procedure; needs a person: ${reason}`);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  private checkOverrun(): void {
    const run = this.state.run;
    if (!run) return;
    const stage = this.procedure.stages[run.stage];
    const to = stage?.window.to;
    if (!stage || to === undefined || run.overranStages.includes(run.stage) || this.now < run.startedAt + to) return;
    run.overranStages.push(run.stage);
    const text = `stage "${stage.name}" overran its window (${formatDuration(to)} after detection)`;
    this.note(text);
    this.raise('critical', `${this.title()}: ${text}`);
  }

  private wakeAt(): number | null {
    const run = this.state.run;
    if (!run) return null;
    const times: number[] = [];
    if (run.phase === 'window') times.push(this.stageStart());
    const to = this.procedure.stages[run.stage]?.window.to;
    if (to !== undefined && !run.overranStages.includes(run.stage)) times.push(run.startedAt + to);
    return times.length ? Math.min(...times) : null;
  }

  private stageStart(): number {
    const run = this.state.run!;
    return run.startedAt + this.procedure.stages[run.stage]!.window.from;
  }

  private currentStep(): Step | undefined {
    const run = this.state.run;
    return run ? this.procedure.stages[run.stage]?.steps[run.step] : undefined;
  }

  private check(phase: 'step' | 'before' | 'after', checkPhase: CheckPhase, probes: ProbeSpec[], wait: { timeoutMs: number; intervalMs: number } | null): void {
    const run = this.state.run!;
    run.phase = phase;
    run.workId = this.workId(phase);
    this.work.push({ kind: 'check', id: run.workId, runId: run.id, stepId: this.currentStep()?.id ?? null, phase: checkPhase, probes, wait });
  }

  private await(step: Step, manual: boolean): void {
    const run = this.state.run!;
    run.phase = 'approval';
    run.status = 'awaiting-approval';
    run.awaiting = step.id;
    const prepared = run.prepared[step.id];
    const text = `${manual ? 'to do and confirm' : 'needs approval'}: ${describeStep(step)}${prepared ? ` — ${prepared.summary}` : ''}`;
    this.effects.push({ kind: 'awaiting', runId: run.id, stepId: step.id, text, manual });
    this.note(`${step.id} ${text}`);
  }

  private workId(phase: string): string {
    const run = this.state.run!;
    return `${run.id}/${run.stage}.${run.attempt}.${run.step}/${phase}`;
  }

  private pruneRestarts(): void {
    const since = this.now - this.procedure.budget.window;
    this.state.restarts = this.state.restarts.filter((at) => at > since);
  }

  private markHealthy(detail: string): void {
    const { state } = this;
    state.failures = 0;
    state.escalated = false;
    this.setHealth('up', detail);
    if (state.incidentOpen) {
      state.incidentOpen = false;
      this.effects.push({ kind: 'clear', detail });
    }
  }

  private setHealth(health: Health, detail: string): void {
    if (this.state.health === health) return;
    this.state.health = health;
    this.effects.push({ kind: 'health', health, detail });
  }

  private raise(severity: Severity, detail: string): void {
    this.state.incidentOpen = true;
    this.effects.push({ kind: 'raise', severity, detail });
  }

  private note(text: string): void {
    this.effects.push({ kind: 'note', runId: this.state.run!.id, text });
  }

  private title(): string {
    return this.procedure.incident.title ?? this.procedure.target ?? this.state.procedure;
  }
}

function needsPrepare(step: Step): boolean {
  return step.type === 'restore-backup' || step.type === 'chain-restore';
}

export function stageKey(name: string): string {
  return `stage:${name}`;
}

export function countsAsRestart(step: Step): boolean {
  return (step.type === 'command' && step.restart) || step.type === 'chain-restart';
}
