import type { Incident } from '../incidents/types.js';
import type { Channel } from './config.js';
import type { NoticeKind } from './ladder.js';

/** What messages say about an incident; `openedAt` is when its escalation began. */
export type IncidentSnapshot = Pick<Incident, 'id' | 'key' | 'title' | 'severity' | 'detail' | 'pointId' | 'openedAt'>;

/** One message in the forms the channels need: subject (e-mail), text (chat, SMS, e-mail body), speech (calls). */
export interface Message {
  subject: string;
  text: string;
  speech: string;
  ackUrl: string | null;
}

export interface FailingSend {
  channel: Channel;
  recipient: string;
  attempts: number;
  error: string;
}

const CHANNEL_NAMES: Record<Channel, string> = { chat: 'chat', email: 'e-mail', sms: 'SMS', call: 'call', webhook: 'webhook' };

export function channelName(channel: Channel): string {
  return CHANNEL_NAMES[channel];
}

export function formatAge(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/** A retry delay: seconds below a minute, then as `formatAge`. */
export function formatDelay(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : formatAge(ms);
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function renderMessage(
  kind: NoticeKind,
  incident: IncidentSnapshot,
  now: number,
  ackUrl: string | null,
  failing?: FailingSend,
): Message {
  const level = incident.severity.toUpperCase();
  const where = incident.pointId ? ` (point ${incident.pointId})` : '';
  const age = formatAge(now - incident.openedAt);
  const heading = {
    page: `[${level}] ${incident.title}${where}`,
    reminder: `[${level}] still open after ${age}: ${incident.title}${where}`,
    resolved: `[RESOLVED] ${incident.title}${where}`,
    failover: `[NOTIFICATIONS FAILING] ${failing ? `${channelName(failing.channel)} to ${failing.recipient}` : 'a channel'} for: ${incident.title}`,
  }[kind];
  const lines = [heading];
  if (kind === 'failover' && failing) lines.push(`${failing.attempts} attempts failed, last: ${clip(failing.error, 200)}. Still retrying.`);
  if (kind === 'resolved') lines.push(`Resolved after ${age}.`);
  else lines.push(clip(incident.detail, 300), `Open for ${age}.`);
  if (ackUrl && kind !== 'resolved') lines.push(`Acknowledge: ${ackUrl}`);
  const speech =
    kind === 'resolved'
      ? `Hot Pot Spot: resolved. ${incident.title}${where}.`
      : `Hot Pot Spot ${incident.severity} alert. ${incident.title}${where}. ${clip(incident.detail, 200)}. Open for ${age}. Acknowledge with the link in your SMS or e-mail.`;
  return { subject: heading, text: lines.filter(Boolean).join('\n'), speech, ackUrl: kind === 'resolved' ? null : ackUrl };
}
