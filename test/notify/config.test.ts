import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/log.js';
import { centralConfigSchema } from '../../central/config.js';
import { notifyConfigSchema } from '../../central/notify/config.js';

/** How central embeds the key. */
const central = z.object({ notify: notifyConfigSchema });

const channels = {
  chat: { webhookUrl: 'https://hooks.slack.example/services/T0/B0/chat-webhook-secret' },
  email: { host: 'smtp.example.ge', auth: { user: 'alerts', pass: 'smtp-password-secret' }, from: 'alerts@hotpot.example' },
  twilio: { accountSid: 'AC0123456789', authToken: 'twilio-token-secret', from: '+995322000000' },
  webhook: { url: 'https://pager.example/hook', headers: { 'x-api-key': 'webhook-header-secret' } },
};
const contacts = [
  { name: 'administrator', email: 'admin@hotpot.example' },
  { name: 'on-duty', phone: '+995555000111', chatWebhook: 'https://hooks.slack.example/services/T0/B0/personal-secret', quietHours: { from: '23:00', to: '07:00', timeZone: 'Asia/Tbilisi' } },
];

function problems(value: unknown): string[] {
  try {
    loadConfig(central, { env: {}, base: { notify: value } });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('notify config', () => {
  it('defaults to ladders by severity (only a critical incident calls) with nothing configured to send', () => {
    const { notify } = central.parse({});
    const steps = (severity: 'critical' | 'major' | 'minor' | 'info') => notify.ladders[severity].steps.map((s) => `${s.afterMinutes} ${s.channel}`);
    expect(steps('critical')).toEqual(['0 chat', '5 email', '15 sms', '30 call']);
    expect(steps('major')).toEqual(['0 chat', '5 email', '15 sms']);
    expect(steps('minor')).toEqual(['0 chat', '5 email']);
    expect(notify.ladders.minor).toMatchObject({ maxLoops: 1, repeatMinutes: 240 });
    expect(notify).toMatchObject({ language: 'en', grace: {} });
    expect(notify.publicUrl).toBeUndefined();
    expect(notify.ladders.major).toMatchObject({ ackTimeoutMinutes: 10, maxLoops: 3, repeatMinutes: 60 });
    expect(notify.ladders.info).toEqual({ steps: [{ afterMinutes: 0, channel: 'chat', to: [] }], maxLoops: 1, repeatMinutes: 0, ackTimeoutMinutes: 0 });
    expect(notify.channels).toEqual({});
    expect(notify.rateLimits.sms).toEqual({ max: 10, perSeconds: 60 });
    expect(notify.failover).toEqual({ afterFailures: 3, next: { chat: 'email', email: 'chat', sms: 'chat', call: 'chat', webhook: 'chat' } });
  });

  it("accepts the README's complete example", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Notifications (`notify`)'));
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(section)![1]!) as Record<string, unknown>;
    const config = centralConfigSchema.parse(example);
    expect(config.notify).toMatchObject({ publicUrl: 'https://central.hotpot.ge', grace: { disconnected: 180_000 } });
    expect(config.notify.channels.twilio).toMatchObject({ ackByKeypress: true, ackBySmsReply: true });
    expect(config.notify.contacts.map((c) => c.language)).toEqual(['ru', 'ka']);
    expect(config.status).toMatchObject({ language: 'ka', showPoints: false });
  });

  it('takes a full config, with channel defaults applied', () => {
    const { notify } = central.parse({ notify: { contacts, channels } });
    expect(notify.channels.email).toMatchObject({ port: 587, secure: false, requireTLS: true, rejectUnauthorized: true });
    expect(notify.channels.twilio?.baseUrl).toBe('https://api.twilio.com');
    expect(notify.contacts[1]?.quietHours?.nonCritical).toBe('defer');
  });

  it('names each bad field', () => {
    expect(problems({ contacts: [{ name: 'Bad Name', phone: '555' }] })).toEqual([
      expect.stringMatching(/^notify\.contacts\.0\.name: contact names/),
      expect.stringMatching(/^notify\.contacts\.0\.phone: expected an E\.164/),
    ]);
    expect(problems({ contacts: [{ name: 'x', quietHours: { from: '25:00', to: '07:00', timeZone: 'Mars/Olympus' } }] })).toEqual([
      expect.stringMatching(/^notify\.contacts\.0\.quietHours\.from: expected a 24-hour time/),
      expect.stringMatching(/^notify\.contacts\.0\.quietHours\.timeZone: expected an IANA time zone/),
    ]);
    expect(problems({ channels: { twilio: { accountSid: 'AC1', from: '+995322000000' } } })).toEqual([
      expect.stringMatching(/^notify\.channels\.twilio\.authToken: /),
    ]);
    expect(problems({ chanels: {} })).toEqual([expect.stringMatching(/^notify\.chanels: unknown key \(did you mean notify\.channels\?\)/)]);
  });

  it('checks that every ladder step can reach someone on a configured channel', () => {
    // E-mail is configured but nobody is called "administrator": the default ladder cannot work.
    const found = problems({ channels: { email: channels.email } });
    expect(found).toContain('notify.ladders.critical.steps.1.to.0: no contact named "administrator" in notify.contacts (add it, or set notify.ladders.critical)');
    expect(problems({ channels: { chat: {} } })).toContain(
      'notify.ladders.major.steps.0.to: a chat step with no contacts posts to channels.chat.webhookUrl, which is not set',
    );
    expect(problems({ contacts: [{ name: 'on-duty', email: 'x@y.ge' }], channels: { twilio: channels.twilio } })).toContain(
      'notify.ladders.major.steps.2.to.0: contact "on-duty" has no phone for the sms step',
    );
    // Steps on channels that are not configured are not checked: they are skipped at run time.
    expect(problems({})).toEqual([]);
  });

  it('takes secrets from the environment (HOTPOT_NOTIFY_...)', () => {
    const env = {
      HOTPOT_NOTIFY_CHANNELS_TWILIO_AUTH_TOKEN: 'token-from-env',
      HOTPOT_NOTIFY_CHANNELS_EMAIL_AUTH_PASS: 'pass-from-env',
      HOTPOT_NOTIFY_SIGNING_SECRET: 'signing-secret-from-env',
    };
    const { notify } = loadConfig(central, {
      env,
      base: { notify: { contacts, channels: { ...channels, twilio: { ...channels.twilio, authToken: 'x' } } } },
    });
    expect(notify.channels.twilio?.authToken).toBe('token-from-env');
    expect(notify.channels.email?.auth?.pass).toBe('pass-from-env');
    expect(notify.signingSecret).toBe('signing-secret-from-env');
  });

  it('never lets a secret reach the log', () => {
    let output = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const config = central.parse({ notify: { contacts, channels, signingSecret: 'signing-secret-value' } });
    const log = createLogger({ name: 'test', destination });
    log.info({ config }, 'config');
    log.info({ notify: config.notify }, 'notify config');
    expect(output).toContain('admin@hotpot.example');
    for (const secret of ['secret', 'smtp-password', 'twilio-token', 'signing-secret-value']) expect(output).not.toContain(secret);
  });
});
