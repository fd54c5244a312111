import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { CentralErrors } from '../errors.js';
import type { PluginRoutes } from '../plugin.js';
import { BACKUP_KINDS } from './config.js';
import { TIERS } from './plan.js';
import type { BackupService } from './service.js';

const runBackupBody = z.strictObject({ kind: z.enum(BACKUP_KINDS).default('postgres'), tier: z.enum(TIERS).default('daily') }).prefault({});
const drillBody = z.strictObject({ kind: z.enum(BACKUP_KINDS).default('postgres') }).prefault({});

/** `GET /api/backups`, `POST /api/backups/run` and `POST /api/backups/drill`; `service` is null when no kind is configured. */
export function registerBackupRoutes(routes: PluginRoutes, service: BackupService | null): void {
  routes.get('', 'viewer', () => ({
    status: 200,
    body: service ? service.overview() : { backups: [], running: [], newestVerified: null, schedules: [], drills: [], configured: false },
  }));
  routes.post('/run', 'operator', (req) => {
    const body = parseWith(runBackupBody, req.body ?? {});
    if (!service) throw CentralErrors.backupsOff();
    const id = service.runInBackground(body.kind, req.principal!.name, body.tier);
    return { status: 202, body: { id, kind: body.kind, tier: body.tier, status: 'running' } };
  });
  // A restore drill by hand (its monthly schedule aside); its outcome shows in the overview's `drills`.
  routes.post('/drill', 'operator', (req) => {
    const body = parseWith(drillBody, req.body ?? {});
    if (!service) throw CentralErrors.backupsOff();
    service.drillInBackground(body.kind);
    return { status: 202, body: { kind: body.kind, status: 'running' } };
  });
}
