import { defineError } from '../lib/errors.js';

/**
 * Central's coded errors, in one catalogue (after fastify's lib/errors.js). Domain code throws them;
 * the HTTP router turns each into `{error, code, ...}` with its status.
 */
export const CentralErrors = {
  noPoint: defineError('NO_POINT', 404, (pointId: string) => `no point ${pointId} has reported to central`),
  noIncident: defineError('NO_INCIDENT', 404, (id: string) => `no incident ${id}`),
  noCommand: defineError('NO_COMMAND', 404, (id: string) => `no command ${id}`),
  noMenu: defineError('NO_MENU', 404, () => 'no menu has been set yet: PUT one to /api/menu'),
  noProcedure: defineError('NO_PROCEDURE', 404, (name: string) => `no runbook procedure named "${name}"`),
  noActiveRun: defineError('NO_ACTIVE_RUN', 404, (runId: string) => `no active run ${runId}`),
  runActive: defineError('RUN_ACTIVE', 409, (why: string) => why),
  approvalRefused: defineError('APPROVAL_REFUSED', 409, (why: string) => why),
  noDay: defineError('NO_DAY', 404, (pointId: string, date: string) => `neither ${pointId} nor central has orders for ${date}`),
  brokerUnavailable: defineError('BROKER_UNAVAILABLE', 503, () => 'central is not connected to the MQTT broker; try again shortly'),
  notLeader: defineError('NOT_LEADER', 503, (what: string) => `this central replica is not the leader: ${what} runs on the leader`),
  backupsOff: defineError('BACKUPS_NOT_CONFIGURED', 400, () => 'backups are not configured (central config key "backups")'),
  backupKindOff: defineError('BACKUP_KIND_NOT_CONFIGURED', 400, (kind: string) => `backups.${kind} is not configured`),
  backupsNotStarted: defineError('BACKUPS_NOT_STARTED', 409, () => 'backups are not started'),
  backupRunning: defineError('BACKUP_RUNNING', 409, (kind: string, id: string) => `a ${kind} backup is already running (${id})`),
  badSilence: defineError('BAD_SILENCE', 400, (why: string) => `invalid silence: ${why}`),
  noSilence: defineError('NO_SILENCE', 404, (id: string) => `no silence ${id}`),
  noStream: defineError('NO_STREAM', 404, (id: string) => `no open dashboard stream ${id} on this replica: reconnect to /api/events`),
  loginRequired: defineError('LOGIN_REQUIRED', 401, () => 'log in first: POST /api/login {username, password}, or send Authorization: Bearer <token>'),
  roleRequired: defineError('ROLE_REQUIRED', 403, (role: string) => `this needs the ${role} role`, (role) => ({ requiredRole: role })),
  crossSite: defineError('CROSS_SITE', 403, (origin: string) => `refused a request from another site (Origin ${origin.slice(0, 200)})`),
  originRequired: defineError('ORIGIN_REQUIRED', 403, () => 'a change made with a session cookie must come from this site (no Origin header was sent)'),
  jsonRequired: defineError('UNSUPPORTED_MEDIA_TYPE', 415, () => 'a change made with a session cookie must send JSON (Content-Type: application/json)'),
  hostNotAllowed: defineError('HOST_NOT_ALLOWED', 403, (host: string) => `the Host ${host.slice(0, 200)} is not one of central's names: add it to http.allowedHosts`),
  loginFailed: defineError('LOGIN_FAILED', 401, () => 'wrong user name or password'),
  loginThrottled: defineError(
    'LOGIN_THROTTLED',
    429,
    (seconds: number) => `too many wrong passwords: try again in ${seconds} s`,
    (seconds) => ({ retryAfterSeconds: seconds }),
    (seconds) => ({ 'retry-after': String(seconds) }),
  ),
  badName: defineError('BAD_NAME', 400, (name: string) => `"${name.slice(0, 80)}" is not a name: 1-64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit`),
  weakPassword: defineError('WEAK_PASSWORD', 400, (min: number) => `a password needs at least ${min} characters`),
  userExists: defineError('USER_EXISTS', 409, (name: string) => `a user named ${name} exists already`),
  noUser: defineError('NO_USER', 404, (name: string) => `no user named ${name}`),
  tokenExists: defineError('TOKEN_EXISTS', 409, (name: string) => `a token named ${name} exists already: revoke it first`),
  noToken: defineError('NO_TOKEN', 404, (name: string) => `no token named ${name}`),
  setupDone: defineError('SETUP_DONE', 409, () => 'central has users already: log in, or ask an admin (hotpot user add)'),
  setupRefused: defineError('SETUP_REFUSED', 403, () => 'wrong setup token: it is in the setup-token file in central\'s dataDir'),
  metricsToken: defineError('METRICS_TOKEN_REQUIRED', 401, () => 'GET /metrics needs Authorization: Bearer <http.metricsToken>'),
};
