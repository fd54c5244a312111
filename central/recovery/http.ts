import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import type { PluginRoutes } from '../plugin.js';
import type { RecoveryEngine } from './engine.js';

const approveBody = z.object({
  stepId: z.string().min(1),
  /** Who approves: recorded in the audit. */
  by: z.string().trim().min(1).max(200),
});

const runsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  procedure: z.string().optional(),
});

/** The runbook endpoints, under `/api/runbooks`. */
export function registerRecoveryRoutes(routes: PluginRoutes, engine: RecoveryEngine): void {
  routes.get('', 'viewer', () => ({ status: 200, body: engine.procedures() }));
  routes.get('/runs', 'viewer', (req) => {
    const query = parseWith(runsQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: engine.runs(query) };
  });
  routes.post('/runs/:id/approve', 'approver', (req) => {
    const body = parseWith(approveBody, req.body);
    return { status: 200, body: engine.approve(req.params.id!, body.stepId, body.by) };
  });
  routes.post('/:name/dry-run', 'operator', (req) => ({ status: 200, body: { procedure: req.params.name, plan: engine.dryRun(req.params.name!) } }));
}
