import { z } from 'zod';
import type Database from 'better-sqlite3';
import type { Clock } from '../../lib/clock.js';
import { parseWith, type Reply, type Request } from '../../lib/http.js';
import { CentralErrors } from '../errors.js';
import type { PluginRoutes } from '../plugin.js';
import { SilenceRequest, SilenceStore, untilProblem } from './silences.js';
import type { AckLinkStatus, Notifier } from './notifier.js';

const ackLinkQuery = z.object({
  by: z.string().min(1).max(64),
  token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'not an ack token'),
});

const escapeHtml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c]!);

function page(status: number, heading: string, body: string): Reply {
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(heading)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}button{font-size:1.2rem;padding:.6rem 1.4rem}</style>
</head><body><h1>${escapeHtml(heading)}</h1>${body}</body></html>`;
  return { status, text: html, headers: { 'content-type': 'text/html; charset=utf-8' } };
}

function reply(status: AckLinkStatus, confirmAction?: string): Reply {
  switch (status.state) {
    case 'not-leader':
      return page(503, 'Try again', '<p>This central replica does not run the escalations. Reload the link (the leader answers it), or acknowledge on the dashboard.</p>');
    case 'invalid':
      return page(403, 'Invalid link', '<p>This acknowledge link is not valid. Use the newest message, or the dashboard.</p>');
    case 'unknown':
      return page(404, 'Unknown incident', '<p>Central has no notifications for this incident.</p>');
    case 'resolved':
      return page(200, 'Already resolved', `<p>${escapeHtml(status.title)}</p><p>Nothing to acknowledge.</p>`);
    case 'already-acked':
      return page(200, 'Already acknowledged', `<p>${escapeHtml(status.title)}</p><p>The escalation is stopped.</p>`);
    case 'acked':
      return page(200, 'Acknowledged', `<p>${escapeHtml(status.title)}</p><p>The escalation is stopped. Resolve the incident, or it restarts after the ack timeout.</p>`);
    case 'open':
      return page(
        200,
        'Acknowledge this incident?',
        `<p>${escapeHtml(status.title)}</p><form method="post" action="${escapeHtml(confirmAction ?? '')}"><button type="submit">Acknowledge</button></form>`,
      );
  }
}

function linkParts(req: Request) {
  const query = parseWith(ackLinkQuery, Object.fromEntries(req.query), 'ack link');
  return { incidentId: req.params.incidentId!, ...query };
}

/**
 * The signed ack link in every message. GET only shows a confirmation page: mail scanners and chat link
 * previews fetch links on their own, and must not ack for a human. The page's button POSTs the ack.
 */
export function registerNotifyRoutes(routes: PluginRoutes, notifier: Notifier, o: { db: Database.Database; clock: Clock }): void {
  const silences = new SilenceStore(o.db);
  routes.get('/silences', 'viewer', () => ({ status: 200, body: silences.recent(o.clock.now()) }));
  routes.post('/silences', 'operator', (req) => {
    const request = parseWith(SilenceRequest, req.body, 'silence');
    const now = o.clock.now();
    const problem = untilProblem(request.until, now);
    if (problem) throw CentralErrors.badSilence(problem);
    return { status: 201, body: silences.add(request, req.principal!.name, now) };
  });
  routes.delete('/silences/:id', 'operator', (req) => {
    const ended = silences.end(req.params.id!, req.principal!.name, o.clock.now());
    if (!ended) throw CentralErrors.noSilence(req.params.id!);
    return { status: 200, body: ended };
  });
  routes.get('/incidents/:id/notifications', 'viewer', (req) => ({ status: 200, body: notifier.notificationsFor(req.params.id!) ?? [] }));

  // Signed links are their own authority: no session, and the confirmation is a plain form post.
  routes.get('/ack/:incidentId', 'public', (req) => {
    const { incidentId, by, token } = linkParts(req);
    // A relative action keeps the page working behind a proxy that mounts central under a path.
    return reply(notifier.ackLinkStatus(incidentId, by, token), `?${new URLSearchParams({ by, token })}`);
  });
  routes.post(
    '/ack/:incidentId',
    'public',
    (req) => {
      const { incidentId, by, token } = linkParts(req);
      return reply(notifier.acknowledgeByLink(incidentId, by, token));
    },
    { body: 'form' },
  );
}
