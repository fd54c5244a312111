import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../lib/log.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { withTimeout } from '../../lib/timeout.js';
import { CHECK_NAMES, HARDWARE_CHECK_NAMES, type AnyCheckName, type CheckState, type Mode } from '../../sync/schemas.js';
import type { HealthChecks, HealthProvider, HealthSnapshot } from '../health.js';
import { EMPTY_TRACK, applyResult, decideMode, type CheckResult, type CheckTrack, type Hysteresis, type ModeDecision, type OverrideSource, type Overrides } from './machine.js';

/** One health check: a single run gives one result and never throws. */
export interface Check {
  readonly name: AnyCheckName;
  run(): Promise<CheckResult>;
}

export interface ScheduledCheck {
  check: Check;
  intervalMs: number;
  /** The run's own I/O has this timeout; the runner allows a second more before calling it hung. */
  timeoutMs: number;
  hysteresis: Hysteresis;
}

/** Where the staff and central overrides survive a restart (the order store's meta table). */
export interface OverrideStore {
  getMeta(key: string): string | null;
  setMeta(key: string, value: string): void;
}

export interface DeviceHealthOptions {
  checks: ScheduledCheck[];
  log: Logger;
  clock?: Clock;
  overrides?: OverrideStore;
}

const DETAIL_MAX = 500;
const HUNG_GRACE_MS = 1000;
const OVERRIDE_KEY = (source: OverrideSource) => `mode.force.${source}`;

function clip(text: string): string {
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX - 1)}…` : text;
}

/** Runs one check once, bounded in time; a throw or a hang is a `down` result. */
export async function runCheck(entry: ScheduledCheck): Promise<{ result: CheckResult; settled: Promise<unknown> }> {
  const run = entry.check.run();
  const settled = run.catch(() => undefined);
  try {
    const result = await withTimeout(run, entry.timeoutMs + HUNG_GRACE_MS, `the ${entry.check.name} check`);
    return { result: { ...result, detail: clip(result.detail) }, settled };
  } catch (error) {
    return { result: { status: 'down', detail: clip((error as Error).message) }, settled };
  }
}

interface Slot {
  entry: ScheduledCheck;
  track: CheckTrack;
  timer: NodeJS.Timeout | undefined;
  running: Promise<unknown> | undefined;
}

/**
 * The agent's health: every configured check on its own schedule (a check never overlaps
 * itself), hysteresis per check, and the mode machine over the internet check and the overrides.
 * Emits 'change' when a status, a detail or the mode changes.
 */
export class DeviceHealth extends EventEmitter implements HealthProvider {
  private readonly slots = new Map<AnyCheckName, Slot>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly createdAt: number;
  private overrides: Overrides;
  private decision: ModeDecision;
  private stopped = true;

  constructor(private readonly options: DeviceHealthOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    this.createdAt = this.clock.now();
    for (const entry of options.checks) this.slots.set(entry.check.name, { entry, track: EMPTY_TRACK, timer: undefined, running: undefined });
    this.overrides = {
      staff: options.overrides?.getMeta(OVERRIDE_KEY('staff')) === 'offline' ? 'offline' : null,
      central: options.overrides?.getMeta(OVERRIDE_KEY('central')) === 'offline' ? 'offline' : null,
    };
    this.decision = decideMode(null, this.overrides);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.log.info({ mode: this.decision.mode, reason: this.decision.reason, checks: [...this.slots.keys()] }, 'health checks started');
    for (const slot of this.slots.values()) this.runSoon(slot, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    const running = Promise.all([...this.slots.values()].map((slot) => slot.running));
    // A driver stuck past its own timeout must not hold up the agent's shutdown.
    await withTimeout(running, 5000, 'running health checks to finish').catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'stopped with a check still running'));
  }

  snapshot(): HealthSnapshot {
    const checks = {} as HealthChecks;
    const stateOf = (slot: Slot): CheckState => slot.track.state ?? { status: 'degraded', detail: 'not checked yet', since: this.createdAt };
    for (const name of CHECK_NAMES) {
      const slot = this.slots.get(name);
      checks[name] = slot ? stateOf(slot) : { status: 'up', detail: 'not configured', since: this.createdAt };
    }
    // Hardware checks are reported only where they run (a health report without them stays valid).
    for (const name of HARDWARE_CHECK_NAMES) {
      const slot = this.slots.get(name);
      if (slot) checks[name] = stateOf(slot);
    }
    return { mode: this.decision.mode, checks };
  }

  mode(): Mode {
    return this.decision.mode;
  }

  get modeReason(): string {
    return this.decision.reason;
  }

  /** Staff or central forces manual-order mode (`'offline'`) or lifts its own override (`null`). */
  force(source: OverrideSource, mode: 'offline' | null): void {
    if (this.overrides[source] === mode) return;
    this.overrides = { ...this.overrides, [source]: mode };
    this.options.overrides?.setMeta(OVERRIDE_KEY(source), mode ?? 'none');
    this.log.info({ source, force: mode }, mode ? 'manual-order mode forced' : 'manual-order mode override lifted');
    if (this.updateMode()) this.emit('change');
  }

  forcedOffline(): OverrideSource[] {
    return (['staff', 'central'] as const).filter((source) => this.overrides[source] === 'offline');
  }

  /** Runs every check once, now, without hysteresis (for `hotpot doctor`). */
  async runOnce(): Promise<HealthChecks> {
    const now = this.clock.now();
    await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        const { result } = await runCheck(slot.entry);
        slot.track = applyResult(EMPTY_TRACK, result, now, slot.entry.hysteresis);
      }),
    );
    this.updateMode();
    return this.snapshot().checks;
  }

  /** The next run starts `delayMs` from now; runs are chained, so a check never overlaps itself. */
  private runSoon(slot: Slot, delayMs: number): void {
    slot.timer = setTimeout(() => {
      this.loop(slot).catch((error: unknown) => {
        this.log.error({ err: error, check: slot.entry.check.name }, 'health check loop failed; retrying');
        if (!this.stopped) this.runSoon(slot, slot.entry.intervalMs);
      });
    }, delayMs);
    slot.timer.unref();
  }

  private async loop(slot: Slot): Promise<void> {
    if (this.stopped) return;
    const started = performance.now();
    const run = this.runAndRecord(slot);
    slot.running = run;
    try {
      await run;
    } finally {
      slot.running = undefined;
    }
    if (!this.stopped) this.runSoon(slot, Math.max(0, slot.entry.intervalMs - (performance.now() - started)));
  }

  private async runAndRecord(slot: Slot): Promise<void> {
    const { result, settled } = await runCheck(slot.entry);
    if (!this.stopped) this.record(slot, result);
    // Never start the next run while this one's I/O is still going (it has its own timeout).
    await settled;
  }

  private record(slot: Slot, result: CheckResult): void {
    const name = slot.entry.check.name;
    const before = slot.track.state;
    slot.track = applyResult(slot.track, result, this.clock.now(), slot.entry.hysteresis);
    const after = slot.track.state!;
    const checkChanged = !before || before.status !== after.status || before.detail !== after.detail;
    if (checkChanged) {
      const line = { check: name, status: after.status, detail: after.detail, was: before?.status ?? null };
      if (after.status === 'up') this.log.info(line, 'check changed');
      else this.log.warn(line, 'check changed');
    }
    const modeChanged = name === 'internet' && this.updateMode();
    if (checkChanged || modeChanged) this.emit('change');
  }

  /** Recomputes the mode; logs and returns true when it changed. */
  private updateMode(): boolean {
    const next = decideMode(this.slots.get('internet')?.track.state ?? null, this.overrides);
    const previous = this.decision;
    this.decision = next;
    if (next.mode === previous.mode) return false;
    this.log.warn({ mode: next.mode, was: previous.mode, reason: next.reason }, 'mode changed');
    return true;
  }
}
