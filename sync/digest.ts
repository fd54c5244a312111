import { createHash } from 'node:crypto';

/**
 * What central says about a record (an order, later a void) that arrives with an id it has
 * already committed: the same content is a plain duplicate (acked again), other content is a
 * conflict (never acked: the sender must not mark its version synced while central holds another).
 * Pure functions over data; both stores and both record kinds use them.
 */

/** JSON with object keys sorted, so a record read back from PostgreSQL's jsonb digests as sent. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 (hex, first 16 bytes) of a record's canonical JSON: what logs and incidents show of each version. */
export function contentDigest(record: unknown): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex').slice(0, 32);
}

export interface Conflict {
  id: string;
  pointId: string;
  /** Digest of the version central committed first (and keeps). */
  committedDigest: string;
  /** Digest of the version that arrived now. */
  receivedDigest: string;
}

export interface ResendVerdict {
  /** Ids whose content equals what central committed: ack them again. */
  duplicates: string[];
  /** Ids that arrived with other content: never acked as synced. */
  conflicts: Conflict[];
}

/**
 * Sorts records that were not inserted (their id was already committed) into duplicates and
 * conflicts, against the committed versions by id. A record whose committed version is missing
 * (should not happen inside one transaction) is a conflict: nothing is acked that was not
 * committed with that exact content.
 */
export function classifyResends<R extends { id: string; pointId: string }>(resent: readonly R[], committed: ReadonlyMap<string, unknown>): ResendVerdict {
  const verdict: ResendVerdict = { duplicates: [], conflicts: [] };
  for (const record of resent) {
    const stored = committed.get(record.id);
    const receivedDigest = contentDigest(record);
    const committedDigest = stored === undefined ? 'missing' : contentDigest(stored);
    if (committedDigest === receivedDigest) verdict.duplicates.push(record.id);
    else verdict.conflicts.push({ id: record.id, pointId: record.pointId, committedDigest, receivedDigest });
  }
  return verdict;
}
