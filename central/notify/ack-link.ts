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

export function ackUrl(publicUrl: string, secret: string, incidentId: string, by: string): string {
  const url = new URL(`api/ack/${encodeURIComponent(incidentId)}`, publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
  url.searchParams.set('by', by);
  url.searchParams.set('token', ackToken(secret, incidentId, by));
  return url.toString();
}
