import { z } from 'zod';
import { duration } from '../../lib/duration.js';
import { SEVERITIES, type Severity } from '../incidents/types.js';

export const CHANNELS = ['chat', 'email', 'sms', 'call', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];
const channelSchema = z.enum(CHANNELS);

export { SEVERITIES };

/** The languages messages are written in (a contact's, or `notify.language` for the team's own targets). */
export const LANGUAGES = ['ru', 'en', 'ka'] as const;
export type Language = (typeof LANGUAGES)[number];

const CONTACT_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const OFFSET_ZONE = /^[+-]([01]\d|2[0-3]):[0-5]\d$/;

function isTimeZone(value: string): boolean {
  if (OFFSET_ZONE.test(value)) return true;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a 24-hour time such as "22:00"');
const phone = z.string().regex(/^\+[1-9]\d{6,14}$/, 'expected an E.164 phone number such as "+995555123456"');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const timeoutMs = (ms: number) => z.number().int().positive().max(120_000).default(ms);

export const quietHoursSchema = z
  .strictObject({
    from: clockTime,
    to: clockTime,
    /** An IANA zone ("Asia/Tbilisi") or a fixed offset ("+04:00"). */
    timeZone: z.string().refine(isTimeZone, 'expected an IANA time zone such as "Asia/Tbilisi" or an offset such as "+04:00"'),
    /** What happens to SMS and calls for non-critical incidents inside quiet hours; critical ones always go through. */
    nonCritical: z.enum(['defer', 'skip']).default('defer'),
  })
  .refine((q) => q.from !== q.to, { message: 'quiet hours need different "from" and "to" times', path: ['to'] });
export type QuietHours = z.output<typeof quietHoursSchema>;

export const contactSchema = z.strictObject({
  name: z.string().regex(CONTACT_NAME, 'contact names are 1-64 of a-z, 0-9 and "-", e.g. "on-duty"'),
  email: z.email().optional(),
  phone: phone.optional(),
  /** This contact's own Slack-compatible webhook; otherwise chat goes to `channels.chat.webhookUrl`. */
  chatWebhook: httpUrl.optional(),
  quietHours: quietHoursSchema.optional(),
  /** The language of this contact's messages; default `notify.language`. */
  language: z.enum(LANGUAGES).optional(),
});
export type Contact = z.output<typeof contactSchema>;

const rateLimitSchema = z.strictObject({
  max: z.number().int().positive(),
  perSeconds: z.number().int().positive(),
});
export type RateLimit = z.output<typeof rateLimitSchema>;

export const ladderStepSchema = z.strictObject({
  afterMinutes: z.number().min(0),
  channel: channelSchema,
  /** Contact names. Empty means the channel's own target: the team chat webhook, or the generic webhook. */
  to: z.array(z.string()).default([]),
});
export type LadderStep = z.output<typeof ladderStepSchema>;

export const ladderSchema = z
  .strictObject({
    steps: z.array(ladderStepSchema).min(1),
    /** An acked incident still open this long restarts the ladder (0: never). */
    ackTimeoutMinutes: z.number().min(0).default(10),
    /** Passes through the ladder while nobody acks. */
    maxLoops: z.number().int().min(1).default(3),
    /** Length of one pass; default: the last step plus 15 minutes. */
    loopMinutes: z.number().positive().optional(),
    /** While the ladder is idle (acked, or every loop done) and the incident is open, remind on the first step this often (0: never). */
    repeatMinutes: z.number().min(0).default(60),
  })
  .refine((l) => l.loopMinutes === undefined || l.loopMinutes > Math.max(...l.steps.map((s) => s.afterMinutes)), {
    message: 'loopMinutes must be longer than the last step',
    path: ['loopMinutes'],
  });
export type LadderConfig = z.output<typeof ladderSchema>;

/** The franchise runbook: chat to the team, then e-mail the administrator, SMS and call the person on duty. */
export const RUNBOOK_LADDER_STEPS = [
  { afterMinutes: 0, channel: 'chat', to: [] },
  { afterMinutes: 5, channel: 'email', to: ['administrator'] },
  { afterMinutes: 15, channel: 'sms', to: ['on-duty'] },
  { afterMinutes: 30, channel: 'call', to: ['on-duty'] },
] satisfies z.input<typeof ladderStepSchema>[];

/**
 * Default ladders by severity: only a critical incident (the main server, the database, the chain,
 * an area outage) may wake someone with a call; a major one climbs to an SMS; a minor one stays on
 * chat and e-mail; info is one chat line.
 */
export const DEFAULT_LADDERS = {
  critical: { steps: RUNBOOK_LADDER_STEPS },
  major: { steps: RUNBOOK_LADDER_STEPS.slice(0, 3) },
  minor: { steps: RUNBOOK_LADDER_STEPS.slice(0, 2), maxLoops: 1, repeatMinutes: 240 },
  // Informational: one chat post, no loops, no reminders, no restarts.
  info: { steps: [{ afterMinutes: 0, channel: 'chat' }], maxLoops: 1, repeatMinutes: 0, ackTimeoutMinutes: 0 },
} satisfies Record<Severity, z.input<typeof ladderSchema>>;

const channelsSchema = z
  .strictObject({
    /** Slack-compatible incoming webhook: POST `{text}`. */
    chat: z.strictObject({ webhookUrl: httpUrl.optional(), timeoutMs: timeoutMs(10_000) }).optional(),
    email: z
      .strictObject({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(587),
        /** TLS from the first byte (port 465); otherwise STARTTLS. */
        secure: z.boolean().default(false),
        /** Refuse to send (and to authenticate) without STARTTLS when `secure` is false. */
        requireTLS: z.boolean().default(true),
        /** PEM file of the CA that signed the server's certificate, when it is not a public one. */
        ca: z.string().min(1).optional(),
        rejectUnauthorized: z.boolean().default(true),
        auth: z.strictObject({ user: z.string().min(1), pass: z.string().min(1) }).optional(),
        from: z.string().min(3),
        timeoutMs: timeoutMs(15_000),
      })
      .optional(),
    /** SMS and voice calls through Twilio's REST API (or anything speaking it at `baseUrl`). */
    twilio: z
      .strictObject({
        baseUrl: httpUrl.default('https://api.twilio.com'),
        accountSid: z.string().regex(/^[A-Za-z0-9]{2,64}$/, 'expected a Twilio account SID such as "AC0123..."'),
        authToken: z.string().min(1),
        from: phone,
        timeoutMs: timeoutMs(15_000),
        /**
         * Calls ask the person to press 1 (TwiML `<Gather>`); Twilio posts the key to
         * `<publicUrl>/api/twilio/call/<incident>`, checked by its X-Twilio-Signature.
         */
        ackByKeypress: z.boolean().default(false),
        /**
         * A reply to an SMS acknowledges the newest open incident paged to that phone. Set the `from`
         * number's messaging webhook in Twilio to `<publicUrl>/api/twilio/sms` (HTTP POST).
         */
        ackBySmsReply: z.boolean().default(false),
      })
      .optional(),
    /** Generic JSON webhook (another paging system, a bot). */
    webhook: z
      .strictObject({ url: httpUrl, headers: z.record(z.string(), z.string()).default({}), timeoutMs: timeoutMs(10_000) })
      .optional(),
  })
  .prefault({});
export type ChannelsConfig = z.output<typeof channelsSchema>;

const rateLimitsSchema = z
  .strictObject({
    chat: rateLimitSchema.prefault({ max: 20, perSeconds: 60 }),
    email: rateLimitSchema.prefault({ max: 30, perSeconds: 60 }),
    sms: rateLimitSchema.prefault({ max: 10, perSeconds: 60 }),
    call: rateLimitSchema.prefault({ max: 5, perSeconds: 60 }),
    webhook: rateLimitSchema.prefault({ max: 60, perSeconds: 60 }),
  })
  .prefault({});

const RULE = /^[a-z0-9-]{1,64}$/;

const baseSchema = z.strictObject({
  /**
   * Base of the links in messages (ack links, Twilio callbacks): how people and Twilio reach
   * central's HTTP (e.g. "https://central.example.ge"). Default: the address central listens on.
   */
  publicUrl: httpUrl.optional(),
  /** The language of messages to the channels' own targets (team chat, webhook) and to contacts without one. */
  language: z.enum(LANGUAGES).default('en'),
  /**
   * Rule → how long an incident of that rule may last before anyone is told (e.g. `{"disconnected": "3m"}`);
   * one that clears sooner is never reported. The rule is an alert rule (`printer`, `disconnected`,
   * `unsynced`, …) or an incident key's first part (`runbook`, `area`, `backups`, `forward`). Without a
   * grace every incident is reported on its ladder's first channel, even one that heals in a second.
   */
  grace: z.record(z.string().regex(RULE, 'a rule is 1-64 of a-z, 0-9 and -'), duration('0s')).default({}),
  /** HMAC key of the ack links; when absent one is generated once and kept in central's database. */
  signingSecret: z.string().min(16, 'use at least 16 characters').optional(),
  /** An incident re-opened with the same key this soon after resolving continues its ladder instead of paging anew. */
  reopenWindowMinutes: z.number().min(0).default(30),
  contacts: z.array(contactSchema).default([]),
  channels: channelsSchema,
  ladders: z
    .strictObject({
      critical: ladderSchema.prefault(DEFAULT_LADDERS.critical),
      major: ladderSchema.prefault(DEFAULT_LADDERS.major),
      minor: ladderSchema.prefault(DEFAULT_LADDERS.minor),
      info: ladderSchema.prefault(DEFAULT_LADDERS.info),
    })
    .prefault({}),
  rateLimits: rateLimitsSchema,
  retry: z
    .strictObject({
      baseSeconds: z.number().positive().default(30),
      maxSeconds: z.number().positive().default(900),
      maxAttempts: z.number().int().min(1).default(10),
    })
    .prefault({}),
  failover: z
    .strictObject({
      /** A notification failing this many times raises a notice on the next channel. */
      afterFailures: z.number().int().min(1).default(3),
      next: z
        .strictObject({
          chat: channelSchema.default('email'),
          email: channelSchema.default('chat'),
          sms: channelSchema.default('chat'),
          call: channelSchema.default('chat'),
          webhook: channelSchema.default('chat'),
        })
        .prefault({}),
    })
    .prefault({}),
});

type NotifyShape = z.output<typeof baseSchema>;

/** Whether the config has what a channel needs to send at all. */
export function channelConfigured(channels: ChannelsConfig, channel: Channel): boolean {
  switch (channel) {
    case 'chat':
      return channels.chat !== undefined;
    case 'email':
      return channels.email !== undefined;
    case 'sms':
    case 'call':
      return channels.twilio !== undefined;
    case 'webhook':
      return channels.webhook !== undefined;
  }
}

/** The contact field a channel delivers to. */
export const CONTACT_ADDRESS = { chat: 'chatWebhook', email: 'email', sms: 'phone', call: 'phone', webhook: null } as const;

function checkReferences(config: NotifyShape, ctx: z.RefinementCtx): void {
  const byName = new Map<string, Contact>();
  config.contacts.forEach((contact, i) => {
    if (byName.has(contact.name)) ctx.addIssue({ code: 'custom', path: ['contacts', i, 'name'], message: `two contacts are named "${contact.name}"` });
    byName.set(contact.name, contact);
  });
  for (const severity of SEVERITIES) {
    config.ladders[severity].steps.forEach((step, s) => {
      if (!channelConfigured(config.channels, step.channel)) return;
      const path = ['ladders', severity, 'steps', s, 'to'];
      if (step.to.length === 0) {
        const ownTarget = step.channel === 'webhook' || (step.channel === 'chat' && config.channels.chat?.webhookUrl !== undefined);
        if (!ownTarget) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: step.channel === 'chat'
              ? 'a chat step with no contacts posts to channels.chat.webhookUrl, which is not set'
              : `a ${step.channel} step needs at least one contact`,
          });
        }
        return;
      }
      step.to.forEach((name, t) => {
        const contact = byName.get(name);
        if (!contact) {
          ctx.addIssue({ code: 'custom', path: [...path, t], message: `no contact named "${name}" in notify.contacts (add it, or set notify.ladders.${severity})` });
          return;
        }
        const field = CONTACT_ADDRESS[step.channel];
        // A chat contact without a webhook of its own falls back to the team webhook.
        const reachable = field === null || contact[field] !== undefined || (step.channel === 'chat' && config.channels.chat?.webhookUrl !== undefined);
        if (!reachable) ctx.addIssue({ code: 'custom', path: [...path, t], message: `contact "${name}" has no ${field} for the ${step.channel} step` });
      });
    });
  }
}

/** Central config key `notify`: contacts, channels, one ladder per severity. */
export const notifyConfigSchema = baseSchema.superRefine(checkReferences).prefault({});
export type NotifyConfig = z.output<typeof notifyConfigSchema>;
