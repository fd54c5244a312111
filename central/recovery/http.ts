import { z } from 'zod';
import { parseWith, type Router } from '../../lib/http.js';
import type { BackupService } from '../backups/service.js';
import type { RecoveryEngine } from './engine.js';

const approveBody = z.object({
  stepId: z.string().min(1),
  /** Who approves: recorded in the audit. */
  by: z.string().trim().min(1).max(200),
});

const runBackupBody = z.object({ kind: z.enum(['postgres', 'config', 'logs']).default('postgres') }).prefault({});

const runsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  procedure: z.string().optional(),
});

/** Runbook and backup endpoints on central's router. `backups` may be null when none are configured. */
export function registerRecoveryRoutes(router: Router, engine: RecoveryEngine, backups: BackupService | null): void {
  router.get('/api/runbooks', () => ({ status: 200, body: engine.procedures() }));
  router.get('/api/runbooks/runs', (req) => {
    const query = parseWith(runsQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: engine.runs(query) };
  });
  router.post('/api/runbooks/runs/:id/approve', (req) => {
    const body = parseWith(approveBody, req.body);
    return { status: 200, body: engine.approve(req.params.id!, body.stepId, body.by) };
  });
  router.post('/api/runbooks/:name/dry-run', (req) => ({ status: 200, body: { procedure: req.params.name, plan: engine.dryRun(req.params.name!) } }));
  router.get('/api/backups', () => ({ status: 200, body: backups ? backups.overview() : { backups: [], running: [], newestVerified: null, schedules: [], configured: false } }));
  router.post('/api/backups/run', (req) => {
    const body = parseWith(runBackupBody, req.body ?? {});
    if (!backups) return { status: 400, body: { error: 'backups are not configured (central config key "backups")' } };
    const id = backups.runInBackground(body.kind, 'api');
    return { status: 202, body: { id, kind: body.kind, status: 'running' } };
  });
}
