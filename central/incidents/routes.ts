import { z } from 'zod';
import { parseWith, type Router } from '../../lib/http.js';
import { PointId } from '../../sync/schemas.js';
import { CentralErrors } from '../errors.js';
import type { RouteMeta } from '../plugin.js';
import type { Incidents } from './store.js';

const IncidentsQuery = z.object({
  status: z.enum(['open', 'acked', 'resolved', 'active']).optional(),
  pointId: PointId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** `by` is what 0.1 clients sent: ignored, the audit names the signed-in user. */
const AckBody = z.strictObject({ by: z.unknown().optional() });

const ResolveBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });
const CommentBody = z.strictObject({ text: z.string().trim().min(1).max(2000) });

const meta = (access: RouteMeta['access']) => ({ meta: { access, owner: 'core' } });

/** `GET /api/incidents`, `GET /api/incidents/:id` (with timeline), ack, resolve and comment (by the signed-in operator). */
export function registerIncidentRoutes(router: Router<RouteMeta>, incidents: Incidents): void {
  router.add('GET', '/api/incidents', meta('viewer'), (req) => {
    const query = parseWith(IncidentsQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: incidents.list(query) };
  });
  router.add('GET', '/api/incidents/:id', meta('viewer'), (req) => {
    const incident = incidents.detail(req.params.id!);
    if (!incident) throw CentralErrors.noIncident(req.params.id!);
    return { status: 200, body: incident };
  });
  router.add('POST', '/api/incidents/:id/ack', meta('operator'), (req) => {
    parseWith(AckBody, req.body ?? {});
    const incident = incidents.ack(req.params.id!, req.principal!.name);
    if (!incident) throw CentralErrors.noIncident(req.params.id!);
    return { status: 200, body: incident };
  });
  router.add('POST', '/api/incidents/:id/resolve', meta('operator'), (req) => {
    const body = parseWith(ResolveBody, req.body ?? {});
    const incident = incidents.resolveByHand(req.params.id!, req.principal!.name, body.reason);
    if (!incident) throw CentralErrors.noIncident(req.params.id!);
    return { status: 200, body: incident };
  });
  router.add('POST', '/api/incidents/:id/comments', meta('operator'), (req) => {
    const body = parseWith(CommentBody, req.body);
    if (!incidents.comment(req.params.id!, req.principal!.name, body.text)) throw CentralErrors.noIncident(req.params.id!);
    return { status: 201, body: incidents.detail(req.params.id!) };
  });
}
