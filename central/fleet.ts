import { EventEmitter } from 'node:events';
import type { Logger } from '../lib/log.js';
import { decodePayload, HealthMessage, StatusMessage, type CheckName, type CheckState, type Mode, type RejectReason } from '../sync/schemas.js';

export interface PointView {
  pointId: string;
  connected: boolean;
  /** Retained status says online but nothing was heard for longer than the stale period. */
  stale: boolean;
  mode: Mode | null;
  lastSeen: number | null;
  checks: Partial<Record<CheckName, CheckState>>;
  unsynced: number | null;
  oldestUnsyncedAt: number | null;
  version: string | null;
  /** Receive time minus the point's own `ts`, from the last health message (ms). */
  clockSkewMs: number | null;
  session: number;
}

interface PointState {
  pointId: string;
  online: boolean;
  session: number;
  lastSeen: number | null;
  health: HealthMessage | null;
  clockSkewMs: number | null;
  version: string | null;
}

/** Every point's live state, from its retained `status` (with its will) and `health`. */
export class Fleet extends EventEmitter {
  private readonly points = new Map<string, PointState>();

  constructor(private readonly log: Logger, private readonly staleAfterMs: number, private readonly onReject: (reason: RejectReason, pointId: string) => void) {
    super();
  }

  private state(pointId: string): PointState {
    let state = this.points.get(pointId);
    if (!state) {
      state = { pointId, online: false, session: -1, lastSeen: null, health: null, clockSkewMs: null, version: null };
      this.points.set(pointId, state);
    }
    return state;
  }

  acceptStatus(pointId: string, payload: Buffer, now: number): void {
    const decoded = decodePayload(StatusMessage, payload);
    if (!decoded.ok) {
      this.log.warn({ pointId, reason: decoded.reason, detail: decoded.detail }, 'rejected status');
      this.onReject(decoded.reason, pointId);
      return;
    }
    const status = decoded.value;
    const state = this.state(pointId);
    if (!status.online && status.session < state.session) {
      // A will from an older connection arrived after the point reconnected (Sparkplug bdSeq).
      this.log.info({ pointId, staleSession: status.session, current: state.session }, 'ignored a late will from an old session');
      return;
    }
    const changed = state.online !== status.online;
    state.online = status.online;
    state.session = Math.max(state.session, status.session);
    state.version = status.version;
    if (status.online) state.lastSeen = now;
    if (changed) this.log.info({ pointId, online: status.online, session: status.session }, status.online ? 'point connected' : 'point disconnected');
    this.emit('change', pointId);
  }

  acceptHealth(pointId: string, payload: Buffer, now: number): void {
    const decoded = decodePayload(HealthMessage, payload);
    if (!decoded.ok) {
      this.log.warn({ pointId, reason: decoded.reason, detail: decoded.detail }, 'rejected health');
      this.onReject(decoded.reason, pointId);
      return;
    }
    if (decoded.value.pointId !== pointId) {
      this.log.warn({ pointId, claimed: decoded.value.pointId }, 'rejected health published on another point\'s topic');
      this.onReject('point_mismatch', pointId);
      return;
    }
    const state = this.state(pointId);
    state.health = decoded.value;
    state.lastSeen = Math.max(state.lastSeen ?? 0, now);
    state.clockSkewMs = now - decoded.value.ts;
    if (decoded.value.version) state.version = decoded.value.version;
    this.emit('change', pointId);
  }

  view(pointId: string, now: number): PointView | null {
    const state = this.points.get(pointId);
    return state ? this.toView(state, now) : null;
  }

  list(now: number): PointView[] {
    return [...this.points.values()].sort((a, b) => a.pointId.localeCompare(b.pointId)).map((state) => this.toView(state, now));
  }

  private toView(state: PointState, now: number): PointView {
    const stale = state.online && (state.lastSeen === null || now - state.lastSeen > this.staleAfterMs);
    return {
      pointId: state.pointId,
      connected: state.online && !stale,
      stale,
      mode: state.health?.mode ?? null,
      lastSeen: state.lastSeen,
      checks: state.health?.checks ?? {},
      unsynced: state.health?.unsynced ?? null,
      oldestUnsyncedAt: state.health?.oldestUnsyncedAt ?? null,
      version: state.version,
      clockSkewMs: state.clockSkewMs,
      session: state.session,
    };
  }
}
