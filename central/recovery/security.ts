import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { CentralErrors } from '../errors.js';
import type { Incidents } from '../incidents/store.js';
import type { RunbookAudit } from './audit.js';

/** The procedure's name in the runbook audit and `GET /api/runbooks/runs`. */
export const SECURITY_PROCEDURE = 'security';
/** The step an isolation waits at: what `POST /api/runbooks/runs/:id/approve` takes as its stepId. */
export const ISOLATE_STEP = 'isolate';

/** An isolation waiting for its approvals. */
export interface PendingIsolation {
  runId: string;
  pointId: string;
  reason: string;
  requestedBy: string;
  approvers: string[];
}

/**
 * Whether `by` may approve: with `needed` > 1 the requester is not one of the approvers and nobody
 * approves twice (as for every destructive step). Returns the refusal, or the approvers after this one.
 */
export function approveIsolation(pending: PendingIsolation, by: string, needed: number): { refused: string } | { approvers: string[]; done: boolean } {
  if (needed > 1 && pending.requestedBy === by) return { refused: `${by} asked for this isolation, so cannot be one of its ${needed} approvers` };
  if (pending.approvers.includes(by)) return { refused: `${by} has approved this isolation already: it needs ${needed} different approvers` };
  const approvers = [...pending.approvers, by];
  return { approvers, done: approvers.length >= needed };
}

export function isolationIncidentKey(pointId: string): string {
  return `security:${pointId}:isolated`;
}

export interface SecurityOptions {
  audit: RunbookAudit;
  incidents: Pick<Incidents, 'raise' | 'clear'>;
  clock: Clock;
  log: Logger;
  /** recovery.approvals */
  approvals: number;
  /** The embedded broker's revocation (core); undefined with an external broker. */
  revokeBrokerLogin: ((username: string) => boolean) | undefined;
  /** Whether central hears from the point now (its fleet view). */
  connected(pointId: string): boolean;
}

/**
 * The runbook's "isolate affected systems" for a point: an operator asks (`POST
 * /api/runbooks/security/isolate {pointId, reason}`), approvers approve like any destructive step, and
 * then the point's broker login is revoked on the embedded broker (its password-file line goes, the
 * broker drops its client and refuses it from then on), so it is offline for central. The request, the
 * approvals and the outcome are a run of the `security` procedure in the runbook audit, and the
 * incident `security:<point>:isolated` stays open until the point is back: re-provisioning it
 * (`hotpot provision-point … --rotate --passwd-file`) is the undo.
 */
export class SecurityProcedure {
  private readonly pending = new Map<string, PendingIsolation>();
  /** Points isolated by this process, until they connect again (after a restart of central, resolve the incident by hand). */
  private readonly isolated = new Set<string>();

  constructor(private readonly o: SecurityOptions) {}

  owns(runId: string): boolean {
    return this.pending.has(runId);
  }

  request(pointId: string, reason: string, by: string): { runId: string; status: 'awaiting-approval'; approvalsNeeded: number } {
    if (!this.o.revokeBrokerLogin) throw CentralErrors.runActive('central joins an external broker: revoke the point there (delete its password-file line, reload Mosquitto)');
    for (const pending of this.pending.values()) if (pending.pointId === pointId) throw CentralErrors.runActive(`an isolation of ${pointId} is waiting for approval already (run ${pending.runId})`);
    const now = this.o.clock.now();
    const runId = uuidv7(now);
    this.o.audit.runStarted({ id: runId, procedure: SECURITY_PROCEDURE, target: `point:${pointId}`, reason, at: now, startedBy: by });
    const text = `Isolate point ${pointId}: revoke its broker login and force it offline (${reason})`;
    this.o.audit.runStatus(runId, 'awaiting-approval', { stepId: ISOLATE_STEP, text });
    this.o.audit.note({ runId, procedure: SECURITY_PROCEDURE, stepId: ISOLATE_STEP, phase: 'request', what: `asked to isolate ${pointId}: ${reason}`, by, at: now });
    this.pending.set(runId, { runId, pointId, reason, requestedBy: by, approvers: [] });
    this.o.log.warn({ pointId, by, reason, runId }, 'isolation of a point requested; waiting for approval');
    return { runId, status: 'awaiting-approval', approvalsNeeded: this.o.approvals };
  }

  approve(runId: string, stepId: string, by: string): { runId: string; status: string; detail: string } {
    const pending = this.pendingRun(runId, stepId);
    const decision = approveIsolation(pending, by, this.o.approvals);
    if ('refused' in decision) throw CentralErrors.approvalRefused(decision.refused);
    const now = this.o.clock.now();
    this.o.audit.note({ runId, procedure: SECURITY_PROCEDURE, stepId, phase: 'approval', what: `approved ${stepId}`, by, at: now });
    pending.approvers = decision.approvers;
    if (!decision.done) return { runId, status: 'awaiting-approval', detail: `waiting for ${this.o.approvals - decision.approvers.length} more approver(s)` };
    this.pending.delete(runId);
    return this.isolate(pending);
  }

  reject(runId: string, stepId: string, by: string, reason: string): { runId: string; status: string; detail: string } {
    const pending = this.pendingRun(runId, stepId);
    this.pending.delete(runId);
    const now = this.o.clock.now();
    this.o.audit.note({ runId, procedure: SECURITY_PROCEDURE, stepId, phase: 'approval', what: `rejected ${stepId}: ${reason}`, by, at: now });
    this.o.audit.runFinished(runId, 'failed', `not isolated: ${by} rejected it (${reason})`, now);
    return { runId, status: 'failed', detail: `${pending.pointId} is not isolated` };
  }

  /** A point that connects again was re-provisioned: its isolation incident resolves. */
  pointChanged(pointId: string): void {
    if (!this.isolated.has(pointId) || !this.o.connected(pointId)) return;
    this.isolated.delete(pointId);
    this.o.incidents.clear(isolationIncidentKey(pointId), 'the point connected again with a new login (re-provisioned)');
  }

  private pendingRun(runId: string, stepId: string): PendingIsolation {
    const pending = this.pending.get(runId);
    if (!pending) throw CentralErrors.noActiveRun(runId);
    if (stepId !== ISOLATE_STEP) throw CentralErrors.approvalRefused(`run ${runId} waits for "${ISOLATE_STEP}", not "${stepId}"`);
    return pending;
  }

  private isolate(pending: PendingIsolation): { runId: string; status: string; detail: string } {
    const { runId, pointId, reason } = pending;
    const by = `${pending.approvers.join(' and ')} (approved)`;
    const started = this.o.clock.now();
    const seq = this.o.audit.stepStarted({ runId, procedure: SECURITY_PROCEDURE, stepId: ISOLATE_STEP, phase: 'action', what: `revoke the broker login of ${pointId}`, by, at: started });
    let revoked: boolean;
    try {
      revoked = this.o.revokeBrokerLogin!(pointId);
    } catch (error) {
      const detail = `could not revoke ${pointId}'s login: ${(error as Error).message}; delete its line from the broker password file by hand`;
      this.o.audit.stepFinished(seq, { ok: false, detail }, this.o.clock.now());
      this.o.audit.runFinished(runId, 'failed', detail, this.o.clock.now());
      return { runId, status: 'failed', detail };
    }
    const detail = revoked ? `${pointId}'s broker login revoked and its client disconnected: it is offline until re-provisioned` : `${pointId} had no broker login: it cannot connect until re-provisioned`;
    const now = this.o.clock.now();
    this.o.audit.stepFinished(seq, { ok: true, detail }, now);
    this.o.audit.runFinished(runId, 'resolved', `isolated: ${reason}`, now);
    this.isolated.add(pointId);
    this.o.incidents.raise({
      key: isolationIncidentKey(pointId),
      title: `Point ${pointId} isolated`,
      severity: 'major',
      detail: `${reason} — approved by ${pending.approvers.join(' and ')}, asked by ${pending.requestedBy}. Undo: hotpot provision-point ${pointId} --rotate --passwd-file … and install the new agent config`,
      pointId,
    });
    this.o.log.warn({ pointId, reason, runId, approvedBy: pending.approvers }, 'point isolated');
    return { runId, status: 'resolved', detail };
  }
}
