import { describe, expect, it } from 'vitest';
import { procedureSchema, type Procedure } from '../../central/recovery/config.js';
import { renderPlan } from '../../central/recovery/dry-run.js';
import { createPlanner, initialState, type Decision, type RunbookEvent, type TargetState, type Work } from '../../central/recovery/planner.js';

const MIN = 60_000;
const health = { type: 'http', url: 'http://main.test/api/status' } as const;
const restart = { type: 'command', id: 'restart', argv: ['systemctl', 'restart', 'main'], restart: true } as const;

function procedure(overrides: Record<string, unknown> = {}): Procedure {
  return procedureSchema.parse({
    probe: { checks: [health] },
    stages: [{ name: 'immediate', window: { to: '5m' }, steps: [{ type: 'probe', id: 'status', probes: [{ type: 'command', argv: ['systemctl', 'status', 'main'] }] }, restart, { type: 'wait', id: 'verify-up', timeoutMs: 60_000 }] }],
    ...overrides,
  });
}

/** Feeds events one after another, as the engine does; keeps every decision for assertions. */
class Driver {
  state: TargetState;
  last!: Decision;
  readonly decisions: Decision[] = [];
  private readonly plan;

  constructor(proc: Procedure, state: TargetState = initialState('main')) {
    this.plan = createPlanner(proc);
    this.state = state;
  }

  send(event: RunbookEvent, now: number): Decision {
    const decision = this.plan(this.state, event, now);
    if (!decision.rejected) this.state = decision.state;
    this.last = decision;
    this.decisions.push(decision);
    return decision;
  }

  /** Completes the one outstanding work item. */
  done(ok: boolean, now: number, detail = ok ? 'ok' : 'failed', extra: Partial<Extract<RunbookEvent, { type: 'done' }>> = {}): Decision {
    const work = this.work();
    return this.send({ type: 'done', workId: work.id, ok, detail, ...extra }, now);
  }

  work(): Work {
    expect(this.last.work).toHaveLength(1);
    return this.last.work[0]!;
  }

  effects(kind: string) {
    return this.decisions.flatMap((d) => d.effects).filter((e) => e.kind === kind);
  }
}

const workLabel = (w: Work) => (w.kind === 'check' ? `check:${w.phase}${w.stepId ? `:${w.stepId}` : ''}` : `${w.kind}:${w.stepId}`);

describe('runbook planner (pure)', () => {
  it('does nothing while probes pass, and reports the target up once', () => {
    const d = new Driver(procedure());
    d.send({ type: 'probe', ok: true, detail: '200' }, 0);
    expect(d.last.work).toEqual([]);
    expect(d.last.effects).toEqual([{ kind: 'health', health: 'up', detail: '200' }]);
    d.send({ type: 'probe', ok: true, detail: '200' }, 30_000);
    expect(d.last.effects).toEqual([]);
    expect(d.state.run).toBeNull();
  });

  it('waits for failAfter consecutive failures before starting a run', () => {
    const d = new Driver(procedure({ probe: { checks: [health], failAfter: 2 } }));
    d.send({ type: 'probe', ok: false, detail: 'refused' }, 0);
    expect(d.state.run).toBeNull();
    d.send({ type: 'probe', ok: true, detail: '200' }, 30_000);
    d.send({ type: 'probe', ok: false, detail: 'refused' }, 60_000);
    expect(d.state.run).toBeNull();
    d.send({ type: 'probe', ok: false, detail: 'refused' }, 90_000);
    expect(d.state.run).not.toBeNull();
    expect(d.last.effects.map((e) => e.kind)).toEqual(['run-started', 'health', 'raise', 'note']);
    expect(workLabel(d.work())).toBe('check:probe:status');
  });

  it('runs diagnose → check before → restart → check after → wait → verify, then resolves', () => {
    const d = new Driver(procedure());
    d.send({ type: 'probe', ok: false, detail: 'ECONNREFUSED' }, 0);
    const labels: string[] = [workLabel(d.work())];
    d.done(false, 1000, 'inactive (dead)'); // diagnostics: recorded, the procedure goes on
    labels.push(workLabel(d.work()));
    d.done(false, 2000); // still down before the restart: act
    labels.push(workLabel(d.work()));
    expect(d.work()).toMatchObject({ kind: 'act', stepId: 'restart', approvedBy: null });
    expect(d.state.restarts).toEqual([2000]);
    d.done(true, 3000);
    labels.push(workLabel(d.work()));
    d.done(false, 3100); // not up yet right after the restart: recorded only
    labels.push(workLabel(d.work()));
    expect(d.work()).toMatchObject({ kind: 'check', phase: 'wait', wait: { timeoutMs: 60_000, intervalMs: 1000 } });
    d.done(true, 5000);
    labels.push(workLabel(d.work()));
    d.done(true, 5100, 'answered 200');
    expect(labels).toEqual(['check:probe:status', 'check:before:restart', 'act:restart', 'check:after:restart', 'check:wait:verify-up', 'check:verify']);
    expect(d.state.run).toBeNull();
    expect(d.state.health).toBe('up');
    expect(d.state.lastRun).toMatchObject({ status: 'resolved' });
    expect(d.last.effects.map((e) => e.kind)).toEqual(['run-finished', 'health', 'clear']);
  });

  it('stops without acting when the target is healthy again right before the first action', () => {
    const d = new Driver(procedure());
    d.send({ type: 'probe', ok: false, detail: 'timeout' }, 0);
    d.done(true, 1000);
    d.done(true, 2000, 'answered 200');
    expect(d.state.run).toBeNull();
    expect(d.state.restarts).toEqual([]);
    expect(d.effects('run-finished')[0]).toMatchObject({ status: 'resolved', reason: expect.stringContaining('nothing to do') });
    expect(d.decisions.flatMap((x) => x.work).some((w) => w.kind === 'act')).toBe(false);
  });

  it('finishes a sequence it started even when health returns midway', () => {
    const proc = procedure({
      stages: [{ name: 'data', steps: [{ type: 'command', id: 'stop-app', argv: ['stop'] }, { type: 'command', id: 'start-app', argv: ['start'] }] }],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    d.done(false, 1); // before stop-app
    d.done(true, 2); // stop-app acted
    d.done(true, 3); // after: healthy (recorded)
    expect(d.work()).toMatchObject({ kind: 'check', phase: 'before', stepId: 'start-app' });
    d.done(true, 4); // healthy before start-app, but something was changed: still act
    expect(d.work()).toMatchObject({ kind: 'act', stepId: 'start-app' });
  });

  it('holds destructive steps for approval, refuses the wrong approval, then runs with the approver recorded', () => {
    const proc = procedure({
      stages: [{ name: 'failover', steps: [{ type: 'command', id: 'dns-switch', argv: ['switch-dns', 'backup'], destructive: true }] }],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    expect(d.last.work).toEqual([]);
    expect(d.state.run!.status).toBe('awaiting-approval');
    const awaiting = d.effects('awaiting')[0]!;
    expect(awaiting).toMatchObject({ stepId: 'dns-switch', manual: false, text: expect.stringContaining('needs approval') });
    const runId = d.state.run!.id;
    expect(d.send({ type: 'approve', runId, stepId: 'other', by: 'nino' }, 10).rejected).toMatch(/it waits for "dns-switch"/);
    expect(d.send({ type: 'approve', runId: 'nope', stepId: 'dns-switch', by: 'nino' }, 10).rejected).toMatch(/not active/);
    d.send({ type: 'approve', runId, stepId: 'dns-switch', by: 'nino' }, 20);
    expect(workLabel(d.work())).toBe('check:before:dns-switch');
    d.done(false, 30);
    expect(d.work()).toMatchObject({ kind: 'act', stepId: 'dns-switch', approvedBy: 'nino' });
  });

  it('runs destructive steps at once with auto: true (on the step or the procedure)', () => {
    for (const overrides of [{ auto: true }, {}]) {
      const step = { type: 'command', id: 'dns-switch', argv: ['switch'], destructive: true, ...(overrides.auto ? {} : { auto: true }) };
      const d = new Driver(procedure({ ...overrides, stages: [{ name: 'failover', steps: [step] }] }));
      d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
      expect(workLabel(d.work())).toBe('check:before:dns-switch');
    }
  });

  it('resolves a run waiting for approval when the target recovers before anything changed', () => {
    const d = new Driver(procedure({ stages: [{ name: 'failover', steps: [{ type: 'command', id: 'dns', argv: ['x'], destructive: true }] }] }));
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    d.send({ type: 'probe', ok: true, detail: 'back' }, 30_000);
    expect(d.state.run).toBeNull();
    expect(d.effects('clear')).toHaveLength(1);
  });

  it('skips a restart beyond the budget, escalates, and moves to the next stage', () => {
    const proc = procedure({
      budget: { restarts: 2, window: '15m' },
      stages: [
        { name: 'immediate', attempts: 5, steps: [restart] },
        { name: 'failover', steps: [{ type: 'command', id: 'start-backup', argv: ['start-backup'], destructive: true }] },
      ],
    });
    const d = new Driver(proc, initialState('main', [-20 * MIN, -10 * MIN, -5 * MIN])); // one is outside the 15 min window
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    expect(d.state.restarts).toEqual([-10 * MIN, -5 * MIN]);
    expect(workLabel(d.work())).toBe('check:verify');
    expect(d.effects('raise').at(-1)).toMatchObject({ severity: 'critical', detail: expect.stringContaining('restart budget exhausted') });
    d.done(false, 1000);
    expect(d.state.run).toMatchObject({ stage: 1, status: 'awaiting-approval' });
  });

  it('repeats a stage up to its attempts while the budget allows, then fails the run and escalates', () => {
    const proc = procedure({ budget: { restarts: 3 }, stages: [{ name: 'immediate', attempts: 5, steps: [restart] }] });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    let now = 0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(d.state.run!.attempt).toBe(attempt);
      d.done(false, (now += 100)); // before
      d.done(false, (now += 100)); // act: the restart command fails
      d.done(false, (now += 100)); // verify
    }
    expect(d.state.restarts).toHaveLength(3);
    // attempt 4: the budget stops the restart → verify → no stage left → failed
    expect(d.state.run!.attempt).toBe(4);
    d.done(false, (now += 100));
    expect(d.state.run).toBeNull();
    expect(d.state.lastRun).toMatchObject({ status: 'failed' });
    expect(d.state.escalated).toBe(true);
    expect(d.effects('raise').map((e) => (e as { severity: string }).severity)).toEqual(['critical', 'critical', 'critical']);
    // no new run while escalated, until the target is seen healthy
    d.send({ type: 'probe', ok: false, detail: 'down' }, (now += 30_000));
    expect(d.state.run).toBeNull();
    d.send({ type: 'probe', ok: true, detail: 'up' }, (now += 30_000));
    expect(d.state).toMatchObject({ escalated: false, health: 'up', incidentOpen: false });
    d.send({ type: 'probe', ok: false, detail: 'down' }, (now += 30_000));
    expect(d.state.run).not.toBeNull();
  });

  it('waits for a stage window to open and flags a stage that overruns its window once', () => {
    const proc = procedure({
      stages: [
        { name: 'immediate', window: { from: 0, to: '5m' }, steps: [{ type: 'command', id: 'restart', argv: ['r'] }] },
        { name: 'failover', window: { from: '5m', to: '15m' }, steps: [{ type: 'command', id: 'failover', argv: ['f'], destructive: true }] },
      ],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    expect(d.last.wakeAt).toBe(5 * MIN); // the immediate stage's deadline
    d.done(false, 1000);
    d.done(false, 2000); // restart command failed → stage ends
    d.done(false, 3000); // verify: still down → failover, whose window opens at 5 min
    expect(d.state.run).toMatchObject({ stage: 1, phase: 'window', status: 'waiting' });
    expect(d.last.work).toEqual([]);
    expect(d.last.wakeAt).toBe(5 * MIN);
    d.send({ type: 'tick' }, 4 * MIN);
    expect(d.state.run!.phase).toBe('window');
    d.send({ type: 'tick' }, 5 * MIN);
    expect(d.state.run!.status).toBe('awaiting-approval');
    expect(d.last.wakeAt).toBe(15 * MIN);
    d.send({ type: 'tick' }, 15 * MIN);
    d.send({ type: 'tick' }, 16 * MIN);
    const overruns = d.effects('raise').filter((e) => (e as { detail: string }).detail.includes('overran'));
    expect(overruns).toHaveLength(1);
    expect(d.last.wakeAt).toBeNull();
  });

  it('ignores the outcome of stale work', () => {
    const d = new Driver(procedure());
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    const before = d.state;
    const stale = d.send({ type: 'done', workId: 'something-else', ok: true, detail: 'late' }, 10);
    expect(stale.work).toEqual([]);
    expect(stale.effects).toEqual([]);
    expect(d.state).toEqual(before);
  });

  it('ends the stage on a failed action unless the step says continue', () => {
    const steps = (onFailure: string) => [
      { type: 'command', id: 'first', argv: ['a'], onFailure },
      { type: 'command', id: 'second', argv: ['b'] },
    ];
    const continuing = new Driver(procedure({ stages: [{ name: 's', steps: steps('continue') }] }));
    continuing.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    continuing.done(false, 1);
    continuing.done(false, 2); // first fails
    expect(continuing.work()).toMatchObject({ phase: 'before', stepId: 'second' });
    const stopping = new Driver(procedure({ stages: [{ name: 's', steps: steps('next-stage') }] }));
    stopping.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    stopping.done(false, 1);
    stopping.done(false, 2);
    expect(stopping.work()).toMatchObject({ phase: 'verify' });
  });

  it('prepares a restore (newest verified backup), shows it in the approval and passes its params to the action', () => {
    const proc = procedure({
      probe: { checks: [{ type: 'postgres', url: 'postgres://postgres@127.0.0.1/app' }] },
      stages: [{ name: 'data', steps: [{ type: 'restore-backup', id: 'restore', url: 'postgres://postgres@127.0.0.1/app' }] }],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'relation missing' }, 0);
    expect(d.work()).toMatchObject({ kind: 'prepare', stepId: 'restore' });
    d.done(true, 10, 'found', { prepared: { summary: 'restore backup b1 taken yesterday', params: { backupId: 'b1' } } });
    expect(d.effects('awaiting')[0]).toMatchObject({ text: expect.stringContaining('restore backup b1 taken yesterday') });
    d.send({ type: 'approve', runId: d.state.run!.id, stepId: 'restore', by: 'ops' }, 20);
    d.done(false, 30);
    expect(d.work()).toMatchObject({ kind: 'act', params: { backupId: 'b1' }, approvedBy: 'ops' });
  });

  it('fails a step whose preparation found nothing, or whose pre/postcondition does not hold', () => {
    const proc = procedure({
      stages: [
        {
          name: 'data',
          steps: [
            { type: 'restore-backup', id: 'restore', url: 'postgres://p@h/db', onFailure: 'continue' },
            { type: 'command', id: 'guarded', argv: ['x'], before: [{ type: 'disk', path: '/' }], onFailure: 'continue' },
            { type: 'command', id: 'checked', argv: ['y'], after: { probes: [{ type: 'disk' }], timeoutMs: 5000 } },
          ],
        },
      ],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    d.done(false, 1, 'no verified backup');
    expect(d.work()).toMatchObject({ phase: 'before', stepId: 'guarded', probes: [{ type: 'disk' }] });
    d.done(false, 2, 'disk full');
    expect(d.work()).toMatchObject({ phase: 'before', stepId: 'checked' });
    d.done(false, 3);
    d.done(true, 4);
    expect(d.work()).toMatchObject({ phase: 'after', wait: { timeoutMs: 5000 } });
    d.done(false, 5, 'still full');
    expect(d.work()).toMatchObject({ phase: 'verify' });
    const notes = d.effects('note').map((e) => (e as { text: string }).text);
    expect(notes).toContain('restore failed: could not prepare: no verified backup');
    expect(notes).toContain('guarded failed: precondition not met: disk full');
    expect(notes).toContain('checked failed: postcondition not met: still full');
  });

  it('asks once for a stage with approval, after looking up what its restore will use', () => {
    const db = 'postgres://postgres@127.0.0.1/app';
    const proc = procedure({
      probe: { checks: [{ type: 'postgres', url: db }] },
      stages: [
        {
          name: 'data-recovery',
          approval: true,
          steps: [
            { type: 'command', id: 'stop-app', argv: ['systemctl', 'stop', 'main'] },
            { type: 'restore-backup', id: 'restore', url: db },
            { type: 'command', id: 'start-app', argv: ['systemctl', 'start', 'main'], destructive: true },
          ],
        },
      ],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'relation "orders" does not exist' }, 0);
    expect(d.work()).toMatchObject({ kind: 'prepare', stepId: 'restore' }); // before anything is stopped
    d.done(true, 10, 'found', { prepared: { summary: 'backup b7 from 03:00', params: { backupId: 'b7' } } });
    expect(d.state.run).toMatchObject({ status: 'awaiting-approval', awaiting: 'stage:data-recovery' });
    const awaiting = d.effects('awaiting')[0] as { text: string; stepId: string };
    expect(awaiting.stepId).toBe('stage:data-recovery');
    expect(awaiting.text).toMatch(/stop-app.* → restore.* → start-app.*backup b7 from 03:00/);
    expect(d.send({ type: 'approve', runId: d.state.run!.id, stepId: 'restore', by: 'x' }, 20).rejected).toMatch(/waits for "stage:data-recovery"/);
    d.send({ type: 'approve', runId: d.state.run!.id, stepId: 'stage:data-recovery', by: 'tamar' }, 20);
    const acts: string[] = [];
    let now = 30;
    while (d.state.run) {
      const work = d.work();
      if (work.kind === 'act') acts.push(`${work.stepId}:${work.approvedBy}`);
      expect(work.kind).not.toBe('prepare'); // prepared once, not again
      d.done(work.kind !== 'check' || work.phase === 'verify', (now += 10));
    }
    expect(acts).toEqual(['stop-app:tamar', 'restore:tamar', 'start-app:tamar']);
    expect(d.effects('awaiting')).toHaveLength(1);
    expect(d.state.lastRun).toMatchObject({ status: 'resolved' });
  });

  it('does not start a run while another procedure holds the target lock', () => {
    const d = new Driver(procedure());
    d.send({ type: 'probe', ok: false, detail: 'down', locked: true }, 0);
    expect(d.state.run).toBeNull();
    d.send({ type: 'probe', ok: false, detail: 'down' }, 30_000);
    expect(d.state.run).not.toBeNull();
  });

  it('waits for manual checklist items to be confirmed; a notify step is done only once the engine reports it delivered', () => {
    const proc = procedure({
      stages: [{ name: 'rebuild', window: { from: 0, to: '4h' }, steps: [{ type: 'notify', id: 'page', severity: 'major', text: 'rebuild needed' }, { type: 'manual', id: 'rack', text: 'replace the disk' }] }],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    expect(d.effects('raise').at(-1)).toMatchObject({ severity: 'major', detail: 'rebuild needed' });
    expect(d.work()).toMatchObject({ kind: 'announce', stepId: 'page' });
    expect(d.effects('awaiting')).toEqual([]);
    d.done(true, 5, 'notified (major) on chat: accepted by team chat');
    expect(d.effects('note').map((e) => (e as { text: string }).text)).toContain('page: notified (major) on chat: accepted by team chat');
    expect(d.effects('awaiting')[0]).toMatchObject({ stepId: 'rack', manual: true });
    d.send({ type: 'approve', runId: d.state.run!.id, stepId: 'rack', by: 'giorgi' }, 10);
    expect(d.work()).toMatchObject({ phase: 'verify' });
  });

  it('a notify step that no channel accepted is recorded and the procedure goes on (onFailure continue); a notice step is work too', () => {
    const proc = procedure({
      stages: [
        {
          name: 'failover',
          steps: [
            { type: 'notice', id: 'tell-staff', text: { ru: 'сервер', en: 'server', ka: 'სერვერი' } },
            { type: 'notify', id: 'tell-ops', text: 'failed over' },
            restart,
          ],
        },
      ],
    });
    const d = new Driver(proc);
    d.send({ type: 'probe', ok: false, detail: 'down' }, 0);
    expect(d.work()).toMatchObject({ kind: 'announce', stepId: 'tell-staff', step: { severity: 'warning' } });
    d.done(true, 1, 'notice posted');
    expect(d.work()).toMatchObject({ kind: 'announce', stepId: 'tell-ops' });
    d.done(false, 2, 'not notified (critical): chat: failed (HTTP 500)');
    expect(d.effects('note').map((e) => (e as { text: string }).text)).toContain('tell-ops failed: not notified (critical): chat: failed (HTTP 500)');
    expect(d.work()).toMatchObject({ kind: 'check', phase: 'before', stepId: 'restart' });
  });

  it('never mutates the state it is given', () => {
    const plan = createPlanner(procedure());
    const state = initialState('main');
    const frozen = structuredClone(state);
    plan(state, { type: 'probe', ok: false, detail: 'down' }, 0);
    expect(state).toEqual(frozen);
  });

  it('renders a dry-run plan naming approvals, guards and the budget', () => {
    const proc = procedure({
      stages: [
        { name: 'immediate', window: { to: '5m' }, steps: [restart] },
        { name: 'failover', window: { from: '5m', to: '15m' }, steps: [{ type: 'http', id: 'dns-webhook', url: 'https://dns.test/switch', destructive: true }] },
      ],
    });
    const text = renderPlan('main-server', proc, initialState('main-server', [0]), 1000);
    expect(text).toContain('dry run');
    expect(text).toContain('Restart budget: 1 of 3 used in the last 15m');
    expect(text).toContain('Stage 2 "failover" (5m–15m after detection)');
    expect(text).toMatch(/dns-webhook: http POST https:\/\/dns\.test\/switch .*\[destructive\] — WAITS FOR APPROVAL/);
    expect(text).toMatch(/restart: run `systemctl restart main` .* — automatic/);
  });
});
