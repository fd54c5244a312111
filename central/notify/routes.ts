import { z } from 'zod';
import type Database from 'better-sqlite3';
import type { Clock } from '../../lib/clock.js';
import { parseWith, type Reply, type Request } from '../../lib/http.js';
import type { Logger } from '../../lib/log.js';
import { CentralErrors } from '../errors.js';
import type { PluginRoutes } from '../plugin.js';
import { publicLink } from './ack-link.js';
import { escapeXml } from './channels.js';
import type { NotifyConfig } from './config.js';
import { callWords } from './messages.js';
import { SilenceRequest, SilenceStore, untilProblem } from './silences.js';
import type { AckLinkStatus, Notifier } from './notifier.js';
import { ACK_CODE } from './store.js';
import { readForm, verifyTwilioSignature } from './twilio.js';

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

function ackCode(req: Request): string {
  const code = req.params.code!;
  // Not a code at all: the same answer as a code that matches nothing.
  return ACK_CODE.test(code) ? code : '';
}

const twiml = (status: number, body: string): Reply => ({ status, text: `<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`, headers: { 'content-type': 'text/xml; charset=utf-8' } });

/**
 * A webhook from Twilio: its form, once its X-Twilio-Signature is right for the URL Twilio was
 * given (`notify.publicUrl` + this path and query); otherwise a 403 and nothing done.
 */
async function twilioForm(req: Request, notifier: Notifier, authToken: string, log: Logger): Promise<URLSearchParams | Reply> {
  const form = await readForm(req.raw);
  const url = publicLink(notifier.publicUrl(), `${req.path}${req.query.size ? `?${req.query.toString()}` : ''}`).toString();
  const signature = req.headers['x-twilio-signature'];
  if (!verifyTwilioSignature(authToken, url, form, typeof signature === 'string' ? signature : undefined)) {
    log.warn({ path: req.path, from: req.raw.socket.remoteAddress }, 'refused a Twilio webhook: its X-Twilio-Signature does not match');
    return { status: 403, text: 'invalid X-Twilio-Signature' };
  }
  return form;
}

/** Twilio's callbacks: a key pressed during a call, a reply to an SMS. Each optional, each verified by its signature. */
function registerTwilioRoutes(routes: PluginRoutes, notifier: Notifier, config: NotifyConfig, log: Logger): void {
  const twilio = config.channels.twilio;
  if (!twilio) return;
  const languageOf = (name: string) => config.contacts.find((contact) => contact.name === name)?.language ?? config.language;
  if (twilio.ackByKeypress) {
    routes.post(
      '/twilio/call/:incidentId',
      'public',
      async (req) => {
        const form = await twilioForm(req, notifier, twilio.authToken, log);
        if (!(form instanceof URLSearchParams)) return form;
        const { incidentId, by, token } = linkParts(req);
        const words = callWords(languageOf(by));
        const say = (text: string) => twiml(200, `<Say language="${words.tag}">${escapeXml(text)}</Say>`);
        if (form.get('Digits') !== '1') return say(words.noKey);
        const status = notifier.acknowledgeByLink(incidentId, by, token, 'call');
        if (status.state === 'invalid') return { status: 403, text: 'invalid ack token' };
        if (status.state === 'acked') return say(words.acked);
        if (status.state === 'already-acked' || status.state === 'resolved') return say(words.nothingToAck);
        // Not leading (or unknown here): the person is told how else to acknowledge.
        return say(words.noKey);
      },
      { body: 'form' },
    );
  }
  if (twilio.ackBySmsReply) {
    routes.post(
      '/twilio/sms',
      'public',
      async (req) => {
        const form = await twilioForm(req, notifier, twilio.authToken, log);
        if (!(form instanceof URLSearchParams)) return form;
        const from = form.get('From') ?? '';
        const result = notifier.acknowledgeBySmsReply(from);
        log.info({ result: result.state }, 'SMS reply');
        // Strangers get no answer: an SMS costs money and says whom we page.
        if (result.state === 'unknown-phone') return twiml(200, '');
        const text =
          result.state === 'acked'
            ? `Acknowledged: ${result.title}.${result.stillOpen ? ` ${result.stillOpen} more open: reply again to acknowledge the next.` : ''}`
            : result.state === 'nothing-open'
              ? 'Nothing open to acknowledge.'
              : 'Not acknowledged: try again in a minute.';
        return twiml(200, `<Message>${escapeXml(text)}</Message>`);
      },
      { body: 'form' },
    );
  }
}

/**
 * The signed ack link in every message. GET only shows a confirmation page: mail scanners and chat link
 * previews fetch links on their own, and must not ack for a human. The page's button POSTs the ack.
 */
export function registerNotifyRoutes(routes: PluginRoutes, notifier: Notifier, o: { db: Database.Database; clock: Clock; config: NotifyConfig; log: Logger }): void {
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
  // The short link an SMS carries: the code is the authority, as the signature is for the long one.
  routes.get('/a/:code', 'public', (req) => reply(notifier.ackCodeStatus(ackCode(req)), ''));
  routes.post('/a/:code', 'public', (req) => reply(notifier.acknowledgeByCode(ackCode(req))), { body: 'form' });
  registerTwilioRoutes(routes, notifier, o.config, o.log);
}
