import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import type { PluginRoutes } from '../plugin.js';
import type { RecoveryEngine } from './engine.js';
import type { SecurityProcedure } from './security.js';
import { POINT_ID } from '../../sync/schemas.js';

const approveBody = z.strictObject({
  stepId: z.string().min(1),
  /** What 0.1 clients sent: ignored, the audit names the signed-in approver. */
  by: z.unknown().optional(),
});

const rejectBody = z.strictObject({
  stepId: z.string().min(1),
  reason: z.string().trim().min(1).max(500),
});

const runBody = z.strictObject({
  /** Why: shown in the run's audit and incident, e.g. "planned failover for maintenance". */
  reason: z.string().trim().min(1).max(500).default('started by hand'),
});

const isolateBody = z.strictObject({
  pointId: z.string().regex(POINT_ID, 'a point id: 1-64 of a-z, 0-9 and -'),
  /** Why: kept in the audit and the incident. */
  reason: z.string().trim().min(1).max(500),
});

const runsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  procedure: z.string().optional(),
});

/** The runbook endpoints, under `/api/runbooks`: who approves or starts a run is the signed-in user. */
export function registerRecoveryRoutes(routes: PluginRoutes, engine: RecoveryEngine, security: SecurityProcedure): void {
  routes.get('', 'viewer', () => ({ status: 200, body: engine.procedures() }));
  routes.get('/figures', 'viewer', () => ({ status: 200, body: engine.figures() }));
  routes.get('/runs', 'viewer', (req) => {
    const query = parseWith(runsQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: engine.runs(query) };
  });
  routes.post('/runs/:id/approve', 'approver', (req) => {
    const body = parseWith(approveBody, req.body);
    const runId = req.params.id!;
    if (security.owns(runId)) return { status: 200, body: security.approve(runId, body.stepId, req.principal!.name) };
    return { status: 200, body: engine.approve(runId, body.stepId, req.principal!.name) };
  });
  routes.post('/runs/:id/reject', 'approver', (req) => {
    const body = parseWith(rejectBody, req.body);
    if (security.owns(req.params.id!)) return { status: 200, body: security.reject(req.params.id!, body.stepId, req.principal!.name, body.reason) };
    return { status: 200, body: engine.reject(req.params.id!, body.stepId, req.principal!.name, body.reason) };
  });
  // The runbook's "isolate affected systems": approved like a destructive step, then the point's broker login is revoked.
  routes.post('/security/isolate', 'operator', (req) => {
    const body = parseWith(isolateBody, req.body);
    return { status: 202, body: security.request(body.pointId, body.reason, req.principal!.name) };
  });
  routes.post('/:name/run', 'operator', (req) => {
    const body = parseWith(runBody, req.body ?? {});
    return { status: 202, body: engine.startByHand(req.params.name!, req.principal!.name, body.reason) };
  });
  routes.post('/:name/dry-run', 'operator', (req) => ({ status: 200, body: { procedure: req.params.name, plan: engine.dryRun(req.params.name!) } }));
}
