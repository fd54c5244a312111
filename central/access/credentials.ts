import type { RaiseIncident } from '../incidents/types.js';

/**
 * Key age (the runbook rotates keys every 90 days): every credential central knows, how old it is
 * or when it expires, and what that means. Plain functions over data; collecting the data is
 * key-age.ts's.
 */

/** What kind of secret: a point's broker password, an API token, a certificate (CA, server, client), a secret from the config. */
export type CredentialKind = 'broker-password' | 'api-token' | 'certificate' | 'secret';

/**
 * Where `setAt` comes from: `recorded` (central wrote it when the credential was made, e.g. a
 * token), `declared` (the config's `keys.rotatedAt`), `first-seen` (the first time central saw this
 * value; a new value is a rotation), or a certificate's own validity.
 */
export type AgeSource = 'recorded' | 'declared' | 'first-seen' | 'certificate';

export interface Credential {
  /** Stable id, e.g. `broker-password:tbilisi-01`, `secret:upstream.token`, `certificate:/etc/hotpot/ca.crt#0`. */
  id: string;
  kind: CredentialKind;
  /** What people call it: a point id, a token name, a config key, a certificate's subject. */
  name: string;
  pointId?: string;
  /** When it was set or last rotated (ms since the epoch). */
  setAt: number;
  source: AgeSource;
  /** A certificate's notAfter. */
  expiresAt?: number;
}

export interface KeyPolicy {
  /** A password, token or secret older than this is due for rotation (default 90 days). */
  maxAgeMs: number;
  /** A certificate this close to its notAfter is due for renewal (default 30 days). */
  certificateWarningMs: number;
}

export type CredentialStatus = 'ok' | 'rotate' | 'expiring' | 'expired';

export interface CredentialState extends Credential {
  ageMs: number;
  status: CredentialStatus;
  /** When it becomes (or became) due: rotation at setAt + maxAge, renewal at notAfter − warning. */
  dueAt: number;
}

const DAY_MS = 86_400_000;

/** A credential's status at `now` under `policy`. */
export function judgeCredential(credential: Credential, now: number, policy: KeyPolicy): CredentialState {
  const ageMs = Math.max(0, now - credential.setAt);
  if (credential.expiresAt !== undefined) {
    const dueAt = credential.expiresAt - policy.certificateWarningMs;
    const status: CredentialStatus = now >= credential.expiresAt ? 'expired' : now >= dueAt ? 'expiring' : 'ok';
    return { ...credential, ageMs, status, dueAt };
  }
  const dueAt = credential.setAt + policy.maxAgeMs;
  return { ...credential, ageMs, status: now >= dueAt ? 'rotate' : 'ok', dueAt };
}

/** The incident key of a credential. */
export function credentialIncidentKey(id: string): string {
  return `credential:${id}`;
}

const SEVERITY = { ok: 'info', rotate: 'minor', expiring: 'major', expired: 'critical' } as const;

/** The incident a credential's state opens, or null when it is fine. */
export function credentialIncident(state: CredentialState, now: number): RaiseIncident | null {
  if (state.status === 'ok') return null;
  const days = (ms: number) => Math.floor(ms / DAY_MS);
  const what = `${state.kind} ${state.name}`;
  const raise = (title: string, detail: string): RaiseIncident => ({
    key: credentialIncidentKey(state.id),
    title,
    severity: SEVERITY[state.status],
    detail,
    ...(state.pointId ? { pointId: state.pointId } : {}),
  });
  switch (state.status) {
    case 'expired':
      return raise(`Certificate expired: ${state.name}`, `${what} expired ${days(now - state.expiresAt!)} days ago: issue a new one (hotpot provision-ca / provision-point --rotate) and restart what uses it`);
    case 'expiring':
      return raise(`Certificate expires in ${days(state.expiresAt! - now)} days: ${state.name}`, `${what} expires on ${new Date(state.expiresAt!).toISOString().slice(0, 10)}: issue a new one before then`);
    default:
      return raise(`Rotate ${what}`, `${what} was set ${days(state.ageMs)} days ago (${state.source}); the limit is ${days(state.dueAt - state.setAt)} days: ${ROTATE_HOW[state.kind]}`);
  }
}

const ROTATE_HOW: Record<CredentialKind, string> = {
  'broker-password': 'hotpot provision-point --rotate --passwd-file … and install the new agent config',
  'api-token': 'hotpot token create a new one, switch its users, then hotpot token revoke the old one',
  certificate: 'issue a new certificate',
  secret: 'change it at its issuer, put the new value in the config and set keys.rotatedAt for it',
};

/**
 * When a credential known only by its value was set: the same fingerprint keeps its recorded time;
 * a new fingerprint is a rotation, now; one never seen before was set at the latest `earliest`
 * (e.g. its file's mtime), or now.
 */
export function firstSeen(previous: { fingerprint: string; setAt: number } | undefined, fingerprint: string, now: number, earliest = now): number {
  if (!previous) return Math.min(now, earliest);
  return previous.fingerprint === fingerprint ? previous.setAt : now;
}
