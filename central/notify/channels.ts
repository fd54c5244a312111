import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import { httpRequest } from '../../lib/http-client.js';
import { withTimeout } from '../../lib/timeout.js';
import { CONTACT_ADDRESS, type Channel, type ChannelsConfig, type Contact } from './config.js';
import type { NoticeKind } from './ladder.js';
import { callWords, type IncidentSnapshot, type Message } from './messages.js';

/** Who a notification goes to: `label` is safe for timelines and logs; `address` may be a secret (a webhook URL). */
export interface Recipient {
  label: string;
  address: string;
  contact: Contact | undefined;
}

export type RecipientLookup = { ok: true; recipient: Recipient } | { ok: false; reason: string };

/** The team's own targets, used when a step names no contact. */
const OWN_TARGET_LABEL = { chat: 'team chat', webhook: 'webhook' } as const;

export function ownTargetName(channel: Channel): string {
  return channel === 'chat' || channel === 'webhook' ? OWN_TARGET_LABEL[channel] : channel;
}

export function resolveRecipient(channels: ChannelsConfig, contacts: readonly Contact[], channel: Channel, contactName: string): RecipientLookup {
  const contact = contactName ? contacts.find((c) => c.name === contactName) : undefined;
  if (contactName && !contact) return { ok: false, reason: `no contact named "${contactName}" any more` };
  switch (channel) {
    case 'chat': {
      const address = contact?.chatWebhook ?? channels.chat?.webhookUrl;
      if (!address) return { ok: false, reason: 'no chat webhook for this recipient' };
      return { ok: true, recipient: { label: contact?.chatWebhook ? `${contactName} (chat)` : OWN_TARGET_LABEL.chat, address, contact } };
    }
    case 'webhook':
      if (!channels.webhook) return { ok: false, reason: 'the webhook channel is not configured' };
      return { ok: true, recipient: { label: contactName || OWN_TARGET_LABEL.webhook, address: channels.webhook.url, contact } };
    default: {
      const field = CONTACT_ADDRESS[channel];
      const address = contact?.[field];
      if (!contact) return { ok: false, reason: `a ${channel} notice needs a contact` };
      if (!address) return { ok: false, reason: `${contactName} has no ${field}` };
      return { ok: true, recipient: { label: `${contactName} <${address}>`, address, contact } };
    }
  }
}

export interface Delivery {
  channel: Channel;
  kind: NoticeKind;
  recipient: Recipient;
  message: Message;
  incident: IncidentSnapshot;
}

function describeError(error: unknown): string {
  const err = error as Error & { cause?: { code?: string; message?: string }; code?: string };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}

export class SendError extends Error {}

/** A reply's body is read only as far as an error quotes it. */
const REPLY_QUOTE_BYTES = 4096;

export const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Seconds a call waits for the key after its message. */
const GATHER_SECONDS = 10;

/**
 * A call's TwiML: the message, and with a callback a `<Gather>` around it so one key press
 * acknowledges (Twilio posts the digits to the callback); without a key the call says how else to ack.
 */
export function callTwiml(message: Message): string {
  const words = callWords(message.speechLanguage?.startsWith('ru') ? 'ru' : 'en');
  const voice = ` language="${escapeXml(message.speechLanguage ?? words.tag)}"`;
  const say = `<Say${voice}>${escapeXml(message.speech)}</Say>`;
  if (!message.callbackUrl) return `<Response>${say}</Response>`;
  return `<Response><Gather input="dtmf" numDigits="1" timeout="${GATHER_SECONDS}" method="POST" action="${escapeXml(message.callbackUrl)}">${say}</Gather><Say${voice}>${escapeXml(words.noKey)}</Say></Response>`;
}

/** One sender per channel; every request bounded by the channel's timeout, errors never carry secrets. */
export class ChannelSenders {
  private mailer: Transporter | undefined;

  constructor(private readonly channels: ChannelsConfig) {}

  /** Reads what the channels need from disk (the SMTP CA); throws naming what is wrong. */
  open(): void {
    const email = this.channels.email;
    if (!email) return;
    let ca: Buffer | undefined;
    if (email.ca) {
      try {
        ca = readFileSync(email.ca);
      } catch (error) {
        throw new Error(`notify.channels.email.ca: cannot read ${email.ca} (${(error as Error).message})`);
      }
    }
    this.mailer = nodemailer.createTransport({
      host: email.host,
      port: email.port,
      secure: email.secure,
      requireTLS: !email.secure && email.requireTLS,
      ...(email.auth ? { auth: { user: email.auth.user, pass: email.auth.pass } } : {}),
      tls: { rejectUnauthorized: email.rejectUnauthorized, ...(ca ? { ca } : {}) },
      connectionTimeout: email.timeoutMs,
      greetingTimeout: email.timeoutMs,
      socketTimeout: email.timeoutMs,
    });
  }

  close(): void {
    this.mailer?.close();
    this.mailer = undefined;
  }

  async send(delivery: Delivery): Promise<void> {
    try {
      await this.dispatch(delivery);
    } catch (error) {
      throw error instanceof SendError ? error : new SendError(describeError(error));
    }
  }

  private async dispatch({ channel, kind, recipient, message, incident }: Delivery): Promise<void> {
    switch (channel) {
      case 'chat':
        return this.post(recipient.address, { 'content-type': 'application/json' }, JSON.stringify({ text: message.text }), this.channels.chat!.timeoutMs, 'the chat webhook');
      case 'webhook': {
        const hook = this.channels.webhook!;
        const body = { kind, recipient: recipient.label, incident, text: message.text, ackUrl: message.ackUrl };
        return this.post(hook.url, { ...hook.headers, 'content-type': 'application/json' }, JSON.stringify(body), hook.timeoutMs, 'the webhook');
      }
      case 'email': {
        const email = this.channels.email!;
        if (!this.mailer) throw new SendError('the e-mail channel is not open');
        await withTimeout(
          this.mailer.sendMail({ from: email.from, to: recipient.address, subject: message.subject, text: message.text }),
          email.timeoutMs + 5000,
          `SMTP server ${email.host}:${email.port}`,
        );
        return;
      }
      case 'sms':
      case 'call': {
        const twilio = this.channels.twilio!;
        const form = new URLSearchParams({ To: recipient.address, From: twilio.from });
        if (channel === 'sms') form.set('Body', message.sms ?? message.text);
        else form.set('Twiml', callTwiml(message));
        const resource = channel === 'sms' ? 'Messages' : 'Calls';
        const base = twilio.baseUrl.replace(/\/+$/, '');
        const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(twilio.accountSid)}/${resource}.json`;
        const auth = Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64');
        return this.post(url, { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${auth}` }, form.toString(), twilio.timeoutMs, `Twilio ${resource}`);
      }
    }
  }

  /**
   * POSTs and reads the reply within `ms`; a non-2xx reply is an error quoting the start of its body.
   * `what` names the target in errors: the URL itself may be a credential (a chat webhook).
   */
  private async post(url: string, headers: Record<string, string>, body: string, ms: number, what: string): Promise<void> {
    const reply = await httpRequest({ method: 'POST', url, headers, body, timeoutMs: ms, what, redirects: 'error', maxBytes: REPLY_QUOTE_BYTES });
    if (reply.status < 200 || reply.status > 299) throw new SendError(`${what} answered HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 200)}`);
  }
}
