import { agentClientId } from '../../sync/mqtt.js';
import { ROOT, topicOf } from '../../sync/protocol.js';
import { POINT_ID } from '../../sync/schemas.js';

/**
 * Who may do what on the embedded broker: install/mosquitto/hotpot.acl, as plain functions.
 * test/broker/ checks the same cases against aedes and against Mosquitto running that file.
 */

/** Central's broker user (a single central's, or the first replica's). */
export const CENTRAL_MQTT_USER = 'hotpot-central';
/**
 * Every central replica has a user of its own (a client id belongs to its user, so replicas
 * sharing one would disconnect each other): these, as install/mosquitto/hotpot.acl lists them.
 */
export const CENTRAL_MQTT_USERS: readonly string[] = [CENTRAL_MQTT_USER, ...[2, 3, 4, 5, 6, 7, 8].map((n) => `${CENTRAL_MQTT_USER}-${n}`)];
/** Names no point may take: central's, present and future. */
const RESERVED_FOR_CENTRAL = /^hotpot-central(-|$)/;

export type BrokerUser = { kind: 'central'; username: string } | { kind: 'point'; pointId: string };

/** A username names central (one user per replica), a point (username = pointId), or nobody. */
export function brokerUser(username: string): BrokerUser | null {
  if (CENTRAL_MQTT_USERS.includes(username)) return { kind: 'central', username };
  if (POINT_ID.test(username) && !isReservedForCentral(username)) return { kind: 'point', pointId: username };
  return null;
}

export function isReservedForCentral(username: string): boolean {
  return RESERVED_FOR_CENTRAL.test(username);
}

const AGENT_CLIENT_PREFIX = agentClientId('');

/** Central's retained notices for the staff pages (DESIGN, "Notices"); points may read them. */
export const NOTICES_TOPIC = topicOf('notices', {});

/**
 * A point connects only as `hotpot-agent-<its id>`; central's users may use any id but a point's.
 * So no client can take over (and so disconnect) another user's client.
 */
export function clientIdAllowed(user: BrokerUser, clientId: string): boolean {
  if (user.kind === 'point') return clientId === agentClientId(user.pointId);
  return !clientId.startsWith(AGENT_CLIENT_PREFIX);
}

/** The filters a user is granted: central the whole v1 tree; a point its own subtree, plus central's broadcasts read-only. */
function grants(user: BrokerUser): { readwrite: string[]; read: string[] } {
  if (user.kind === 'central') return { readwrite: [`${ROOT}/#`], read: [] };
  return { readwrite: [`${ROOT}/points/${user.pointId}/#`], read: [topicOf('menu', {}), topicOf('centralStatus', {}), NOTICES_TOPIC] };
}

export function mayPublish(user: BrokerUser, topic: string): boolean {
  return grants(user).readwrite.some((grant) => filterCovers(grant, topic));
}

/** Shared subscriptions are judged by the filter they share (as Mosquitto does); a wildcard must stay inside a grant. */
export function maySubscribe(user: BrokerUser, filter: string): boolean {
  const inner = unshared(filter);
  if (inner === null) return false;
  const { readwrite, read } = grants(user);
  return [...readwrite, ...read].some((grant) => filterCovers(grant, inner));
}

/** `$share/<group>/<filter>` → `<filter>`; other filters as they are; a malformed shared one → null. */
function unshared(filter: string): string | null {
  if (!filter.startsWith('$share/')) return filter;
  const [, group, ...rest] = filter.split('/');
  if (!group || /[+#]/.test(group) || rest.length === 0 || rest.join('/') === '') return null;
  return rest.join('/');
}

/**
 * Whether every topic `filter` matches (a plain topic matches itself) is matched by `grant`.
 * Grants are literal levels with at most a trailing `#`.
 */
function filterCovers(grant: string, filter: string): boolean {
  const g = grant.split('/');
  const f = filter.split('/');
  for (let i = 0; i < g.length; i++) {
    // `a/#` matches `a` itself and everything below it.
    if (g[i] === '#') return true;
    // A wildcard in the filter where the grant names a level reaches beyond the grant.
    if (i >= f.length || f[i] !== g[i]) return false;
  }
  return f.length === g.length;
}
