import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { CentralErrors } from '../errors.js';
import type { PluginRoutes } from '../plugin.js';
import { BACKUP_KINDS } from './config.js';
import type { BackupService } from './service.js';

const runBackupBody = z.object({ kind: z.enum(BACKUP_KINDS).default('postgres') }).prefault({});

/** `GET /api/backups` and `POST /api/backups/run`; `service` is null when no kind is configured. */
export function registerBackupRoutes(routes: PluginRoutes, service: BackupService | null): void {
  routes.get('', 'viewer', () => ({
    status: 200,
    body: service ? service.overview() : { backups: [], running: [], newestVerified: null, schedules: [], configured: false },
  }));
  routes.post('/run', 'operator', (req) => {
    const body = parseWith(runBackupBody, req.body ?? {});
    if (!service) throw CentralErrors.backupsOff();
    const id = service.runInBackground(body.kind, req.principal!.name);
    return { status: 202, body: { id, kind: body.kind, status: 'running' } };
  });
}
