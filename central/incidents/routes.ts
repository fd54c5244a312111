import { z } from 'zod';
import { HttpError, parseWith, type Router } from '../../lib/http.js';
import { PointId } from '../../sync/schemas.js';
import type { Incidents } from './store.js';

const IncidentsQuery = z.object({
  status: z.enum(['open', 'acked', 'resolved', 'active']).optional(),
  pointId: PointId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

const AckBody = z.object({ by: z.string().trim().min(1).max(100).optional() }).strict();

/** `GET /api/incidents`, `GET /api/incidents/:id` (with timeline), `POST /api/incidents/:id/ack`. */
export function registerIncidentRoutes(router: Router, incidents: Incidents): void {
  router.get('/api/incidents', (req) => {
    const query = parseWith(IncidentsQuery, Object.fromEntries(req.query), 'query');
    return { status: 200, body: incidents.list(query) };
  });
  router.get('/api/incidents/:id', (req) => {
    const incident = incidents.detail(req.params.id!);
    if (!incident) throw new HttpError(404, { error: `no incident ${req.params.id}` });
    return { status: 200, body: incident };
  });
  router.post('/api/incidents/:id/ack', (req) => {
    const body = parseWith(AckBody, req.body ?? {});
    const incident = incidents.ack(req.params.id!, body.by ?? 'api');
    if (!incident) throw new HttpError(404, { error: `no incident ${req.params.id}` });
    return { status: 200, body: incident };
  });
}
