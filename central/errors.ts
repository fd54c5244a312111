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
  approvalRefused: defineError('APPROVAL_REFUSED', 409, (why: string) => why),
  noDay: defineError('NO_DAY', 404, (pointId: string, date: string) => `neither ${pointId} nor central has orders for ${date}`),
  brokerUnavailable: defineError('BROKER_UNAVAILABLE', 503, () => 'central is not connected to the MQTT broker; try again shortly'),
  notLeader: defineError('NOT_LEADER', 503, (what: string) => `this central replica is not the leader: ${what} runs on the leader`),
  backupsOff: defineError('BACKUPS_NOT_CONFIGURED', 400, () => 'backups are not configured (central config key "backups")'),
  backupKindOff: defineError('BACKUP_KIND_NOT_CONFIGURED', 400, (kind: string) => `backups.${kind} is not configured`),
  backupsNotStarted: defineError('BACKUPS_NOT_STARTED', 409, () => 'backups are not started'),
  backupRunning: defineError('BACKUP_RUNNING', 409, (kind: string, id: string) => `a ${kind} backup is already running (${id})`),
};
