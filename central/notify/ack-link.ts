import { createHmac, timingSafeEqual } from 'node:crypto';

function mac(secret: string, incidentId: string, by: string): Buffer {
  return createHmac('sha256', secret).update(`ack\n${incidentId}\n${by}`).digest();
}

/** HMAC-SHA256 over the incident and who the link was sent to, so an ack says who acked. */
export function ackToken(secret: string, incidentId: string, by: string): string {
  return mac(secret, incidentId, by).toString('base64url');
}

export function verifyAckToken(secret: string, incidentId: string, by: string, token: string): boolean {
  const expected = mac(secret, incidentId, by);
  const given = Buffer.from(token, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `path` under central's public URL (which may itself carry a path, behind a proxy). */
export function publicLink(publicUrl: string, path: string): URL {
  return new URL(path.replace(/^\/+/, ''), publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
}

function signedUrl(publicUrl: string, path: string, secret: string, incidentId: string, by: string): string {
  const url = publicLink(publicUrl, `${path}/${encodeURIComponent(incidentId)}`);
  url.searchParams.set('by', by);
  url.searchParams.set('token', ackToken(secret, incidentId, by));
  return url.toString();
}

/** The signed ack link in chat, e-mail and webhook messages: a confirmation page, then a POST. */
export function ackUrl(publicUrl: string, secret: string, incidentId: string, by: string): string {
  return signedUrl(publicUrl, 'api/ack', secret, incidentId, by);
}

/** Where Twilio posts the key pressed during a call (the `<Gather>` action), signed like an ack link. */
export function callbackUrl(publicUrl: string, secret: string, incidentId: string, by: string): string {
  return signedUrl(publicUrl, 'api/twilio/call', secret, incidentId, by);
}

/** The short ack link an SMS carries: `<publicUrl>/api/a/<code>`. */
export function shortAckUrl(publicUrl: string, code: string): string {
  return publicLink(publicUrl, `api/a/${code}`).toString();
}
