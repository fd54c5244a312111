import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../lib/clock.js';
import { listen, Router, type StartedServer } from '../../lib/http.js';
import { createLogger, silentLogger } from '../../lib/log.js';
import { sleep } from '../../lib/timeout.js';
import { pluginRoutes } from '../../central/plugin-host.js';
import type { RouteMeta } from '../../central/plugin.js';
import { Incidents } from '../../central/incidents/index.js';
import { Notifier, notifyConfigSchema, registerNotifyRoutes, type NotifierOptions } from '../../central/notify/index.js';
import { gsmLength } from '../../central/notify/messages.js';
import { SilenceRequest, SilenceStore } from '../../central/notify/silences.js';
import { describeWithPeers, type Peer } from '../helpers/peers.js';
import { freePort, waitFor } from '../peers/net.js';
import { makeCertificate, startHttpReceiver, startSmtpReceiver, type HttpReceiver, type ReceivedRequest } from './receivers.js';
import { centralTables } from '../helpers/central-db.js';

const openssl: Peer = { name: 'openssl', available: existsSync('/usr/bin/openssl'), install: 'apt-get install openssl' };

const MIN = 60_000;
/** 13:00 in Tbilisi: outside anybody's quiet hours. */
const T0 = Date.parse('2025-01-15T09:00:00Z');
const SID = 'AC0123456789abcdef';
const TWILIO_TOKEN = 'twilio-token-xyz';
const SMTP_USER = 'notifier';
const SMTP_PASS = 'smtp-pass-123';
/** What the notifier wrote on an incident's timeline. */
const notes = (incidents: Incidents, id: string) =>
  incidents
    .timeline(id)
    .filter((entry) => entry.kind === 'notify')
    .map((entry) => entry.text);

/** A minor alert that can become critical in place (`alerts.resources.diskFullSeverity`). */
const DISK = { key: 'point:tbilisi-01:disk', title: 'Disk above 80 %', severity: 'minor', detail: 'disk 82 % used', pointId: 'tbilisi-01' } as const;
const DISK_FULL = { ...DISK, severity: 'critical', title: 'Disk full', detail: 'disk full, orders refused' } as const;
const PRINTER_DOWN = { key: 'point:tbilisi-01:printer', title: 'Printer down', severity: 'major', detail: 'no answer on tcp://10.0.0.5:9100', pointId: 'tbilisi-01' } as const;

describeWithPeers('Notifier with real SMTP, chat and Twilio peers', [openssl], () => {
  let dir: string;
  let certFile: string;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let chat: HttpReceiver;
  let twilio: HttpReceiver;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-notify-'));
    const cert = await makeCertificate(dir);
    certFile = cert.certFile;
    smtp = await startSmtpReceiver({ key: readFileSync(cert.keyFile), cert: readFileSync(cert.certFile), user: SMTP_USER, pass: SMTP_PASS });
    chat = await startHttpReceiver();
    twilio = await startHttpReceiver((req) => {
      const auth = `Basic ${Buffer.from(`${SID}:${TWILIO_TOKEN}`).toString('base64')}`;
      return req.headers.authorization === auth ? { status: 201, body: '{"sid":"SM1"}' } : { status: 401, body: '{"code":20003,"message":"Authenticate"}' };
    });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    smtp.mails.length = 0;
    chat.requests.length = 0;
    twilio.requests.length = 0;
  });

  afterAll(async () => {
    await smtp?.close();
    await chat?.close();
    await twilio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function config(overrides: { smtpPort?: number; signingSecret?: string | null; extra?: Record<string, unknown> } = {}) {
    return notifyConfigSchema.parse({
      publicUrl: 'http://central.test:8080',
      ...(overrides.signingSecret === null ? {} : { signingSecret: overrides.signingSecret ?? 'test-signing-secret-0123456789' }),
      contacts: [
        { name: 'administrator', email: 'admin@hotpot.example' },
        { name: 'on-duty', phone: '+995555000111' },
      ],
      channels: {
        chat: { webhookUrl: `${chat.url}/hooks/team` },
        email: {
          host: '127.0.0.1',
          port: overrides.smtpPort ?? smtp.port,
          ca: certFile,
          auth: { user: SMTP_USER, pass: SMTP_PASS },
          from: 'Hot Pot alerts <alerts@hotpot.example>',
          timeoutMs: 5000,
        },
        twilio: { baseUrl: twilio.url, accountSid: SID, authToken: TWILIO_TOKEN, from: '+995322000000' },
      },
      ...overrides.extra,
    });
  }

  let dbCount = 0;
  function database(file = join(dir, `central-${++dbCount}.db`)): { db: Database.Database; file: string } {
    const db = centralTables(file);
    cleanups.push(() => {
      db.close();
    });
    return { db, file };
  }

  async function startNotifier(options: { config: ReturnType<typeof config>; db: Database.Database; clock: ManualClock; incidents: Incidents; more?: Partial<NotifierOptions> }) {
    const registry = new Registry();
    const notifier = new Notifier({ ...options, feed: options.incidents, sink: options.incidents, registry, log: silentLogger(), tickEveryMs: 0, ...options.more });
    await notifier.start();
    cleanups.push(() => notifier.stop());
    return { notifier, registry };
  }

  async function rig(overrides: Parameters<typeof config>[0] = {}, more: Partial<NotifierOptions> = {}) {
    const clock = new ManualClock(T0);
    const { db, file } = database();
    const incidents = new Incidents(db, clock, silentLogger());
    const cfg = config(overrides);
    const { notifier, registry } = await startNotifier({ config: cfg, db, clock, incidents, more });
    /** Moves the clock to `minute` after T0 and runs one tick. */
    const at = async (minute: number) => {
      clock.set(T0 + minute * MIN);
      await notifier.tick();
    };
    return { clock, incidents, db, file, cfg, notifier, registry, at };
  }

  const chatTexts = () => chat.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
  const twilioCalls = (resource: 'Messages' | 'Calls') => twilio.requests.filter((r) => r.path.endsWith(`/${resource}.json`));
  const sentCount = () => ({ chat: chat.requests.length, email: smtp.mails.length, sms: twilioCalls('Messages').length, call: twilioCalls('Calls').length });

  /** Ticks minute by minute and lists `minute channel` for every message that arrived at its peer. */
  async function walk(at: (minute: number) => Promise<void>, from: number, to: number): Promise<string[]> {
    const arrivals: string[] = [];
    for (let minute = from; minute <= to; minute++) {
      const before = sentCount();
      await at(minute);
      const after = sentCount();
      for (const channel of Object.keys(after) as (keyof typeof after)[]) {
        for (let i = before[channel]; i < after[channel]; i++) arrivals.push(`${minute} ${channel}`);
      }
    }
    return arrivals;
  }

  it('climbs the critical ladder: chat at 0, e-mail at 5, SMS at 15, call at 30, each through its real peer', async () => {
    const { incidents, at, registry } = await rig();
    const incident = incidents.raise({ ...PRINTER_DOWN, severity: 'critical' });
    expect(await walk(at, 0, 31)).toEqual(['0 chat', '5 email', '15 sms', '30 call']);

    const [chatPost] = chat.requests as [ReceivedRequest];
    expect(chatPost.method).toBe('POST');
    expect(chatPost.path).toBe('/hooks/team');
    expect(chatPost.headers['content-type']).toBe('application/json');
    const chatText = chatTexts()[0]!;
    expect(chatText).toContain('[CRITICAL] Printer down (point tbilisi-01)');
    // Times in the franchise's zone: T0 is 13:00 in Tbilisi.
    expect(chatText).toContain('Open since 13:00 (<1 s).');
    expect(chatText).toMatch(new RegExp(`Acknowledge: http://central\\.test:8080/api/ack/${incident.id}\\?by=team\\+chat&token=[\\w-]{43}`));

    const [mail] = smtp.mails;
    expect(mail).toMatchObject({ user: SMTP_USER, secure: true, to: ['admin@hotpot.example'], from: 'alerts@hotpot.example' });
    expect(mail!.text).toContain('Subject: [CRITICAL] Printer down (point tbilisi-01)');
    expect(mail!.text).toContain(`/api/ack/${incident.id}?by=administrator&token=`);

    const auth = `Basic ${Buffer.from(`${SID}:${TWILIO_TOKEN}`).toString('base64')}`;
    const [sms] = twilioCalls('Messages');
    expect(sms!.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(sms!.headers.authorization).toBe(auth);
    expect(sms!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const smsForm = new URLSearchParams(sms!.body);
    expect(smsForm.get('To')).toBe('+995555000111');
    expect(smsForm.get('From')).toBe('+995322000000');
    const smsBody = smsForm.get('Body')!;
    // One SMS: a short ack link, GSM characters only, at most 160 of them.
    expect(smsBody).toMatch(/^\[CRITICAL\] Printer down \(point tbilisi-01\) since 13:00 Acknowledge: http:\/\/central\.test:8080\/api\/a\/[2-9a-zA-Z]{12}$/);
    expect(gsmLength(smsBody)).not.toBeNull();
    expect(gsmLength(smsBody)!).toBeLessThanOrEqual(160);

    const [call] = twilioCalls('Calls');
    expect(call!.path).toBe(`/2010-04-01/Accounts/${SID}/Calls.json`);
    expect(call!.headers.authorization).toBe(auth);
    const callForm = new URLSearchParams(call!.body);
    expect(callForm.get('To')).toBe('+995555000111');
    expect(callForm.get('Twiml')).toBe(
      '<Response><Say language="en-US">Hot Pot Spot, critical alert. Printer down (point tbilisi-01). no answer on tcp://10.0.0.5:9100. Acknowledge with the link in your SMS or e-mail.</Say></Response>',
    );

    const timeline = notes(incidents, incident.id);
    expect(timeline[0]).toBe('escalation ladder (critical): 0 min chat to team chat; 5 min e-mail to administrator; 15 min SMS to on-duty; 30 min call to on-duty');
    expect(timeline).toEqual(
      expect.arrayContaining([
        'chat page to team chat: sent (attempt 1)',
        'e-mail page to administrator <admin@hotpot.example>: sent (attempt 1)',
        'SMS page to on-duty <+995555000111>: sent (attempt 1)',
        'call page to on-duty <+995555000111>: sent (attempt 1)',
      ]),
    );
    const metrics = await registry.metrics();
    for (const channel of ['chat', 'email', 'sms', 'call']) {
      expect(metrics).toContain(`hotpot_notify_attempts_total{channel="${channel}",outcome="sent"} 1`);
      expect(metrics).toContain(`hotpot_notify_notifications_total{channel="${channel}",kind="page",status="sent"} 1`);
    }
    expect(metrics).toContain('hotpot_notify_pending{channel="email"} 0');
  });

  it('an ack at 7 stops SMS and call; the ack timeout restarts the ladder; resolving says so once per channel used', async () => {
    const { incidents, at } = await rig();
    const incident = incidents.raise(PRINTER_DOWN);
    expect(await walk(at, 0, 6)).toEqual(['0 chat', '5 email']);
    await at(7);
    incidents.ack(incident.id, 'nino');
    expect(notes(incidents, incident.id)).toContain('ladder stopped: acknowledged by nino; it restarts in 10 min unless resolved by then');
    // Acked at 7 with a 10-minute ack timeout: quiet until 17, then the ladder starts again from chat.
    expect(await walk(at, 8, 23)).toEqual(['17 chat', '22 email']);
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    expect(await walk(at, 24, 60)).toEqual(['24 chat', '24 email']);
    expect(sentCount()).toEqual({ chat: 3, email: 3, sms: 0, call: 0 });
    expect(chatTexts()[2]).toMatch(/^\[RESOLVED\] Printer down \(point tbilisi-01\)\nResolved at 13:24, after 24 min\.$/);
    expect(smtp.mails[2]!.text).toContain('Subject: [RESOLVED] Printer down');
    // Another resolution event changes nothing.
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    expect(await walk(at, 61, 62)).toEqual([]);
  });

  it('a severity raised after an ack pages again at once on the new ladder and says whose ack no longer holds; a drop sends nothing new', async () => {
    const { incidents, at } = await rig();
    const incident = incidents.raise(DISK);
    expect(await walk(at, 0, 1)).toEqual(['0 chat']);
    await at(2);
    incidents.ack(incident.id, 'nino');
    await at(3);
    incidents.raise(DISK_FULL);
    expect(notes(incidents, incident.id)).toContain(
      'severity raised minor → critical: paging again from the first step of the critical ladder; the acknowledgement by nino 1 min ago no longer holds',
    );
    // The ack at 2 would have held until 12: the critical ladder starts at 3 instead.
    expect(await walk(at, 3, 8)).toEqual(['3 chat', '8 email']);
    expect(chatTexts()[1]).toMatch(/^\[CRITICAL\] Disk full \(point tbilisi-01\)\n/);
    expect(notes(incidents, incident.id)).toContain('chat page to team chat: sent (attempt 1)');
    await at(9);
    incidents.raise(DISK);
    expect(notes(incidents, incident.id).filter((note) => note.startsWith('severity raised'))).toHaveLength(1);
    // Back to minor (chat and e-mail, both sent in this round): nothing new, no SMS at 18, no call at 33.
    expect(await walk(at, 9, 60)).toEqual([]);
    expect(sentCount()).toEqual({ chat: 2, email: 1, sms: 0, call: 0 });
  });

  it('a silenced incident raised in severity stays quiet, and the timeline says so', async () => {
    const { incidents, at, db, clock } = await rig();
    const incident = incidents.raise(DISK);
    expect(await walk(at, 0, 1)).toEqual(['0 chat']);
    incidents.ack(incident.id, 'nino');
    new SilenceStore(db).add(SilenceRequest.parse({ match: { pointId: 'tbilisi-01' }, until: T0 + 120 * MIN, reason: 'disk replacement' }), 'giorgi', clock.now());
    await at(2);
    incidents.raise(DISK_FULL);
    expect(notes(incidents, incident.id)).toContain('severity raised minor → critical: still silenced, no pages while the silence lasts; the acknowledgement by nino 1 min ago no longer holds');
    expect(await walk(at, 2, 60)).toEqual([]);
    expect(sentCount()).toEqual({ chat: 1, email: 0, sms: 0, call: 0 });
  });

  it('the signed link in a message acks through the feed after a confirmation page; a forged one does not', async () => {
    const { incidents, at, notifier, db, clock, cfg } = await rig();
    const router = new Router<RouteMeta>();
    registerNotifyRoutes(pluginRoutes(router, 'notify', '/api'), notifier, { db, clock, config: cfg, log: silentLogger() });
    const http: StartedServer = await listen(router, '127.0.0.1', 0, silentLogger());
    cleanups.push(() => http.close());
    const incident = incidents.raise(PRINTER_DOWN);
    await walk(at, 0, 5);
    const link = /Acknowledge: (\S+)/.exec(smtp.mails[0]!.text)![1]!;
    const local = new URL(link);
    const url = `http://127.0.0.1:${http.port}${local.pathname}${local.search}`;

    // A link preview or mail scanner fetching the link must not ack.
    const confirm = await fetch(url);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('<form method="post"');
    expect(incidents.get(incident.id)!.status).toBe('open');

    const forged = new URL(url);
    forged.searchParams.set('by', 'on-duty');
    expect((await fetch(forged, { method: 'POST' })).status).toBe(403);
    const other = new URL(url);
    other.searchParams.set('token', 'A'.repeat(43));
    expect((await fetch(other, { method: 'POST' })).status).toBe(403);
    expect((await fetch(`http://127.0.0.1:${http.port}${local.pathname}`)).status).toBe(400);
    expect(incidents.get(incident.id)!.status).toBe('open');

    const acked = await fetch(url, { method: 'POST' });
    expect(acked.status).toBe(200);
    expect(await acked.text()).toContain('Acknowledged');
    expect(incidents.get(incident.id)).toMatchObject({ status: 'acked', ackedBy: 'administrator (ack link)' });
    expect(await (await fetch(url, { method: 'POST' })).text()).toContain('Already acknowledged');
    // No SMS at 15: the ack stopped it; what comes at 15 is the ack timeout (ack at 5 + 10 min) restarting the ladder.
    expect(await walk(at, 6, 15)).toEqual(['15 chat']);
  });

  it('a central restarted mid-ladder (new notifier, same database file) continues without duplicates', async () => {
    const clock = new ManualClock(T0);
    const first = database();
    const incidents = new Incidents(first.db, clock, silentLogger());
    // No signing secret in the config: the generated one must survive the restart, or old links break.
    const cfg = config({ signingSecret: null });
    const before = await startNotifier({ config: cfg, db: first.db, clock, incidents });
    const incident = incidents.raise({ ...PRINTER_DOWN, severity: 'critical' });
    const tickBefore = async (minute: number) => {
      clock.set(T0 + minute * MIN);
      await before.notifier.tick();
    };
    expect(await walk(tickBefore, 0, 5)).toEqual(['0 chat', '5 email']);
    const link = new URL(/Acknowledge: (\S+)/.exec(chatTexts()[0]!)![1]!);
    await before.notifier.stop();
    // Stopped, as on a replica that lost the lead: it sends people to the leader, not "invalid link".
    expect(before.notifier.ackLinkStatus(incident.id, link.searchParams.get('by')!, link.searchParams.get('token')!)).toEqual({ state: 'not-leader' });
    first.db.close();

    const reopened = database(first.file);
    const after = await startNotifier({ config: cfg, db: reopened.db, clock, incidents: new Incidents(reopened.db, clock, silentLogger()) });
    const tickAfter = async (minute: number) => {
      clock.set(T0 + minute * MIN);
      await after.notifier.tick();
    };
    expect(await walk(tickAfter, 5, 31)).toEqual(['15 sms', '30 call']);
    expect(sentCount()).toEqual({ chat: 1, email: 1, sms: 1, call: 1 });
    expect(after.notifier.ackLinkStatus(incident.id, link.searchParams.get('by')!, link.searchParams.get('token')!)).toEqual({ state: 'open', title: 'Printer down' });
  });

  it('a replica taking the lead pages for incidents that opened while another replica led', async () => {
    const clock = new ManualClock(T0);
    const { db } = database();
    const incidents = new Incidents(db, clock, silentLogger());
    // Raised before this notifier runs: the old leader's record of its ladder is in another database.
    const incident = incidents.raise(PRINTER_DOWN);
    const { notifier } = await startNotifier({ config: config(), db, clock, incidents });
    const at = async (minute: number) => {
      clock.set(T0 + minute * MIN);
      await notifier.tick();
    };
    expect(await walk(at, 0, 5)).toEqual(['0 chat', '5 email']);
    expect(chatTexts()[0]).toContain(`/api/ack/${incident.id}?by=`);
  });

  it('a dead SMTP server: retries with backoff, then a notice on chat, and the timeline counts the attempts', async () => {
    const deadPort = await freePort();
    const { incidents, at, clock, notifier, registry } = await rig({ smtpPort: deadPort });
    const incident = incidents.raise(PRINTER_DOWN);
    expect(await walk(at, 0, 5)).toEqual(['0 chat']);
    expect(notes(incidents, incident.id)).toContainEqual(expect.stringMatching(/^e-mail page to administrator <admin@hotpot\.example>: failed \(attempt 1\): .*ECONNREFUSED.*; retry in 30 s$/));
    // Backoff: 30 s, 60 s, 120 s... Walk the clock in 15-second steps until the failover notice is on chat.
    for (let step = 0; step < 40 && chat.requests.length < 2; step++) {
      clock.advance(15_000);
      await notifier.tick();
    }
    const notice = chatTexts()[1];
    expect(notice).toMatch(/^\[NOTIFICATIONS FAILING\] e-mail to administrator <admin@hotpot\.example> for Printer down \(point tbilisi-01\)\n3 attempts failed, last: .*ECONNREFUSED/);
    const timeline = notes(incidents, incident.id);
    expect(timeline.filter((t) => t.startsWith('e-mail page to administrator') && t.includes('failed (attempt'))).toHaveLength(3);
    expect(timeline).toContain('e-mail page to administrator <admin@hotpot.example> failed 3 times: raising a notice on chat');
    expect(timeline).toContain('chat failover to team chat: sent (attempt 1)');
    expect(clock.now() - (T0 + 5 * MIN)).toBeGreaterThanOrEqual((30 + 60) * 1000);
    expect(await registry.metrics()).toContain('hotpot_notify_attempts_total{channel="email",outcome="error"} 3');
    expect(smtp.mails).toHaveLength(0);
  });

  it('a flapping condition pages once: re-opened within the window it continues the same ladder', async () => {
    const { incidents, at } = await rig();
    const first = incidents.raise(PRINTER_DOWN);
    expect(await walk(at, 0, 1)).toEqual(['0 chat']);
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    expect(await walk(at, 2, 2)).toEqual(['2 chat']);
    expect(chatTexts()[1]).toContain('[RESOLVED]');
    await at(3);
    const second = incidents.raise(PRINTER_DOWN);
    expect(second.id).not.toBe(first.id);
    expect(notes(incidents, second.id)[0]).toBe(
      `notifications continue the ladder of incident ${first.id} (same key ${PRINTER_DOWN.key}, re-opened 2 min after it resolved); steps already sent are not repeated`,
    );
    // Whoever got the all-clear hears it is back; the ladder goes on where it was (e-mail at 5).
    expect(await walk(at, 3, 6)).toEqual(['3 chat', '5 email']);
    expect(chatTexts()[2]).toMatch(/^\[MAJOR · AGAIN\] Printer down \(point tbilisi-01\)\nno answer on tcp:\/\/10\.0\.0\.5:9100\nBack 1 min after the all-clear\.\nAcknowledge: /);
    // The e-mail's ack link names the incident that is open now.
    expect(smtp.mails[0]!.text).toContain(`/api/ack/${second.id}?by=administrator`);
    expect(chat.requests).toHaveLength(3);
  });

  it('quiet hours defer a major SMS to the morning but let a critical one through; the rate limit holds, not drops', async () => {
    const night = Date.parse('2025-01-14T21:30:00Z'); // 01:30 in Tbilisi
    // One SMS per incident and nothing after it, so every message below is one decision.
    const smsNow = { steps: [{ afterMinutes: 0, channel: 'sms', to: ['on-duty'] }], maxLoops: 1, repeatMinutes: 0 };
    const { incidents, clock, notifier } = await rig({
      extra: {
        contacts: [{ name: 'on-duty', phone: '+995555000111', quietHours: { from: '22:00', to: '08:00', timeZone: 'Asia/Tbilisi' } }],
        ladders: { critical: smsNow, major: smsNow, minor: smsNow, info: { steps: [{ afterMinutes: 0, channel: 'chat' }] } },
        rateLimits: { chat: { max: 2, perSeconds: 60 } },
      },
    });
    clock.set(night);
    const major = incidents.raise(PRINTER_DOWN);
    const critical = incidents.raise({ key: 'runbook:main-server', title: 'Main server down', severity: 'critical', detail: 'GET /api/status timed out' });
    await notifier.tick();
    expect(twilioCalls('Messages').map((r) => new URLSearchParams(r.body).get('Body'))).toEqual([expect.stringContaining('[CRITICAL] Main server down')]);
    expect(notes(incidents, major.id)).toContain("SMS page to on-duty <+995555000111>: deferred to the end of on-duty's quiet hours (2025-01-15 08:00)");
    expect(notes(incidents, critical.id)).toContain('SMS page to on-duty <+995555000111>: sent (attempt 1)');
    clock.set(Date.parse('2025-01-15T03:59:00Z'));
    await notifier.tick();
    expect(twilioCalls('Messages')).toHaveLength(1);
    clock.set(Date.parse('2025-01-15T04:00:00Z'));
    await notifier.tick();
    expect(twilioCalls('Messages')).toHaveLength(2);

    // Three info incidents at once against a chat limit of 2 per minute: the third waits its turn.
    const cameras = ['batumi-01', 'batumi-02', 'kutaisi-01'].map((point) =>
      incidents.raise({ key: `point:${point}:camera`, title: `Camera down at ${point}`, severity: 'info', detail: 'no snapshot', pointId: point }),
    );
    await notifier.tick();
    expect(chat.requests).toHaveLength(2);
    clock.advance(30_000);
    await notifier.tick();
    expect(chat.requests).toHaveLength(2);
    clock.advance(30_000);
    await notifier.tick();
    expect(chat.requests).toHaveLength(3);
    expect(cameras.flatMap((camera) => notes(incidents, camera.id))).toContain('chat page to team chat: held by the chat rate limit (2 per 60 s)');
  });

  it('catches up on start with what the incident store did while central was down', async () => {
    const clock = new ManualClock(T0);
    const first = database();
    const incidents = new Incidents(first.db, clock, silentLogger());
    const cfg = config();
    const before = await startNotifier({ config: cfg, db: first.db, clock, incidents });
    const acked = incidents.raise(PRINTER_DOWN);
    const resolved = incidents.raise({ key: 'point:batumi-01:internet', title: 'Batumi offline', severity: 'major', detail: 'no route', pointId: 'batumi-01' });
    await before.notifier.tick();
    expect(sentCount().chat).toBe(2);
    await before.notifier.stop();

    clock.set(T0 + 2 * MIN);
    incidents.ack(acked.id, 'giorgi');
    incidents.clear('point:batumi-01:internet', 'route back');
    const after = await startNotifier({ config: cfg, db: first.db, clock, incidents });
    expect(notes(incidents, acked.id)).toContain('ladder stopped: acknowledged by giorgi; it restarts in 10 min unless resolved by then');
    clock.set(T0 + 6 * MIN);
    await after.notifier.tick();
    // No e-mail for the acked one; the resolved one gets its all-clear on chat, where it was announced.
    expect(sentCount()).toEqual({ chat: 3, email: 0, sms: 0, call: 0 });
    expect(chatTexts()[2]).toContain('[RESOLVED] Batumi offline');
    expect(notes(incidents, resolved.id)).toContain('chat resolved to team chat: sent (attempt 1)');
  });

  it('runs on its own scheduler with the system clock, and posts the generic webhook JSON with its headers', async () => {
    const pager = await startHttpReceiver();
    cleanups.push(() => pager.close());
    const { db } = database();
    const incidents = new Incidents(db, systemClock, silentLogger());
    const cfg = config({
      extra: {
        channels: { chat: { webhookUrl: `${chat.url}/hooks/team` }, webhook: { url: `${pager.url}/pager/events`, headers: { 'x-api-key': 'pager-key' } } },
        contacts: [],
        ladders: Object.fromEntries(['critical', 'major', 'minor', 'info'].map((s) => [s, { steps: [{ afterMinutes: 0, channel: 'chat' }, { afterMinutes: 0, channel: 'webhook' }] }])),
      },
    });
    const notifier = new Notifier({ config: cfg, db, feed: incidents, sink: incidents, registry: new Registry(), log: silentLogger(), tickEveryMs: 50 });
    await notifier.start();
    cleanups.push(() => notifier.stop());
    const incident = incidents.raise({ ...PRINTER_DOWN, severity: 'info' });
    await waitFor(() => chat.requests.length === 1 && pager.requests.length === 1, 'the scheduler to send on chat and webhook');
    const [event] = pager.requests;
    expect(event!.path).toBe('/pager/events');
    expect(event!.headers['x-api-key']).toBe('pager-key');
    expect(JSON.parse(event!.body)).toMatchObject({
      kind: 'page',
      recipient: 'webhook',
      incident: { id: incident.id, key: PRINTER_DOWN.key, severity: 'info', title: 'Printer down', pointId: 'tbilisi-01' },
      text: expect.stringContaining('[INFO] Printer down'),
      ackUrl: expect.stringContaining(`/api/ack/${incident.id}?by=webhook&token=`),
    });
    await notifier.stop();
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    // Stopped: nothing more goes out, not even the all-clear.
    await sleep(200);
    expect(chat.requests).toHaveLength(1);
  });

  it("works with central's real incident store: timeline, correlation, and an ack link stopping a restarted ladder", async () => {
    const clock = new ManualClock(T0);
    const { db } = database();
    const incidents = new Incidents(db, clock, silentLogger());
    const notifier = new Notifier({ config: config(), db, feed: incidents, sink: incidents, registry: new Registry(), clock, log: silentLogger(), tickEveryMs: 0 });
    await notifier.start();
    cleanups.push(() => notifier.stop());
    const at = async (minute: number) => {
      clock.set(T0 + minute * MIN);
      await notifier.tick();
    };
    const incident = incidents.raise(PRINTER_DOWN);
    const child = incidents.raise({ key: 'point:tbilisi-01:receipts', title: 'Receipts not printing', severity: 'major', detail: 'queue stuck', parentKey: PRINTER_DOWN.key });
    expect(await walk(at, 0, 6)).toEqual(['0 chat', '5 email']);
    expect(incidents.timeline(child.id).map((t) => t.text)).toContain(`no notifications of its own: it hangs under incident ${incident.id}`);
    expect(notes(incidents, incident.id)).toContain('e-mail page to administrator <admin@hotpot.example>: sent (attempt 1)');

    await at(7);
    incidents.ack(incident.id, 'nino');
    expect(await walk(at, 8, 17)).toEqual(['17 chat']);
    // The store's ack is idempotent (already acked: no event), so the restarted ladder is stopped by the link it sent.
    const link = new URL(/Acknowledge: (\S+)/.exec(chatTexts()[1]!)![1]!);
    const status = notifier.acknowledgeByLink(incident.id, link.searchParams.get('by')!, link.searchParams.get('token')!);
    expect(status).toEqual({ state: 'acked', title: 'Printer down' });
    // No e-mail at 22: the ladder is stopped again (until 27, the new ack's timeout).
    expect(await walk(at, 18, 26)).toEqual([]);
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    // The all-clear on chat and e-mail; and the child, detached by the store at 26, now pages on its own.
    expect(await walk(at, 27, 33)).toEqual(['27 chat', '27 chat', '27 email', '31 email']);
    expect(chatTexts().slice(2)).toEqual([
      expect.stringMatching(/^\[RESOLVED\] Printer down/),
      expect.stringMatching(/^\[MAJOR\] Receipts not printing/),
    ]);
  });
  it('a crash that heals before the next tick is still reported: one chat line saying it was down and is over', async () => {
    const { incidents, at, clock, notifier } = await rig();
    const incident = incidents.raise(PRINTER_DOWN);
    clock.advance(500);
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    await notifier.tick();
    expect(chatTexts()).toEqual([
      '[RESOLVED] Printer down (point tbilisi-01)\nDown from 13:00:00 to 13:00:00 (<1 s); it was over before anyone was paged.\nno answer on tcp://10.0.0.5:9100',
    ]);
    expect(notes(incidents, incident.id)).toContain('ladder stopped: resolved; reported once on chat: it was down and is over');
    expect(notes(incidents, incident.id)).toContain('chat resolved to team chat: sent (attempt 1)');
    // Nothing else: no e-mail at 5, no second all-clear.
    expect(await walk(at, 1, 40)).toEqual([]);
  });

  it('on its own scheduler, a crash healed in a fraction of a second still gets its level-1 message', async () => {
    const { db } = database();
    const incidents = new Incidents(db, systemClock, silentLogger());
    const notifier = new Notifier({ config: config(), db, feed: incidents, sink: incidents, registry: new Registry(), log: silentLogger() });
    await notifier.start();
    cleanups.push(() => notifier.stop());
    const incident = incidents.raise({ key: 'runbook:main-server', title: 'main-server is down', severity: 'critical', detail: 'main-server is down: GET /api/status refused' });
    incidents.clear('runbook:main-server', 'verified healthy');
    await waitFor(() => chat.requests.length === 1, 'the one message of a healed crash', 5000);
    expect(chatTexts()[0]).toMatch(/^\[RESOLVED\] main-server is down\nDown from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d \(<1 s\); it was over before anyone was paged\.\nGET \/api\/status refused$/);
    await waitFor(() => (notifier.notificationsFor(incident.id) ?? []).every((n) => n.status !== 'pending'), 'nothing left queued');
    expect(notifier.notificationsFor(incident.id)!.map((n) => `${n.kind} ${n.channel} ${n.status}`)).toEqual(['resolved chat sent']);
  });

  it('a grace for a rule keeps an incident that clears within it unreported, and delays the ladder of one that outlasts it', async () => {
    const { incidents, at } = await rig({ extra: { grace: { printer: '2m' } } });
    const brief = incidents.raise(PRINTER_DOWN);
    expect(notes(incidents, brief.id)[0]).toMatch(/after a grace of 2 min \(notify\.grace\.printer\): cleared sooner, it is not reported$/);
    expect(await walk(at, 0, 1)).toEqual([]);
    incidents.clear(PRINTER_DOWN.key, 'paper refilled');
    expect(notes(incidents, brief.id)).toContain('ladder stopped: resolved; resolved within its grace of 2 min: not reported');
    expect(await walk(at, 2, 40)).toEqual([]);
    // Past the re-open window: a new escalation, which outlasts its grace.
    await at(41);
    incidents.raise(PRINTER_DOWN);
    expect(await walk(at, 41, 48)).toEqual(['43 chat', '48 email']);
  });

  it('by default a minor alert stays on chat and e-mail however long it is open; a major one stops at SMS', async () => {
    const { incidents, at } = await rig();
    incidents.raise({ key: 'point:tbilisi-01:paper', title: 'Printer paper near end', severity: 'minor', detail: 'paper low', pointId: 'tbilisi-01' });
    const minor = await walk(at, 0, 600);
    expect(minor).toEqual(['0 chat', '5 email', '240 chat', '480 chat']);
    expect(sentCount()).toMatchObject({ sms: 0, call: 0 });
    const other = await rig();
    other.incidents.raise(PRINTER_DOWN);
    expect((await walk(other.at, 0, 240)).filter((arrival) => arrival.endsWith('sms') || arrival.endsWith('call'))).toEqual(['15 sms', '45 sms', '75 sms']);
    expect(twilioCalls('Calls')).toHaveLength(0);
  });

  it('all-clears never ring a phone: they go to whoever was reached, on the channels they were reached on', async () => {
    const { incidents, at } = await rig();
    incidents.raise({ ...PRINTER_DOWN, severity: 'critical' });
    expect(await walk(at, 0, 31)).toEqual(['0 chat', '5 email', '15 sms', '30 call']);
    incidents.clear(PRINTER_DOWN.key, 'printer answers again');
    expect(await walk(at, 32, 50)).toEqual(['32 chat', '32 email', '32 sms']);
    expect(new URLSearchParams(twilioCalls('Messages')[1]!.body).get('Body')).toBe('[RESOLVED] Printer down (point tbilisi-01): 32 min');
  });

  it("writes each contact's messages in their language, times in the franchise's zone, and an SMS in one message", async () => {
    const { incidents, at } = await rig(
      {
        extra: {
          contacts: [
            { name: 'administrator', email: 'admin@hotpot.example', language: 'ru' },
            { name: 'on-duty', phone: '+995555000111', language: 'ka' },
          ],
        },
      },
      { timeZone: 'Europe/Moscow' },
    );
    incidents.raise({ ...PRINTER_DOWN, title: 'Printer down at tbilisi-01' });
    await walk(at, 0, 15);
    // The team chat speaks notify.language (en); 09:00 UTC is 12:00 in Moscow. The title names the point already.
    expect(chatTexts()[0]).toMatch(/^\[MAJOR\] Printer down at tbilisi-01\nno answer on tcp:\/\/10\.0\.0\.5:9100\nOpen since 12:00 \(<1 s\)\.\nAcknowledge: /);
    expect(smtp.mails[0]!.text).toContain('Открыто с 12:00 (5 мин).');
    const sms = new URLSearchParams(twilioCalls('Messages')[0]!.body).get('Body')!;
    expect(sms).toMatch(/^\[მნიშვნელოვანი\] Printer down at tbilisi-01 12:00-დან დადასტურება: http:\/\/central\.test:8080\/api\/a\/\w{12}$/);
    // Georgian needs UCS-2: two concatenated segments at most.
    expect(gsmLength(sms)).toBeNull();
    expect([...sms].length).toBeLessThanOrEqual(134);
  });

  it("announces a runbook step on the first channel of its severity and says which channel accepted it, even if the incident resolves right after", async () => {
    const { incidents, notifier, at } = await rig();
    const incident = incidents.raise({ key: 'runbook:main-server', title: 'main-server is down', severity: 'critical', detail: 'GET /api/status refused' });
    const outcome = await notifier.announce({ incidentId: incident.id, severity: 'critical', text: 'main server failed over to the backup server', key: 'run-1/tell-ops' }, 5000);
    expect(outcome).toEqual({ delivered: true, channel: 'chat', accepted: ['team chat'], failed: [] });
    incidents.clear('runbook:main-server', 'verified healthy after stage "failover"');
    await at(1);
    // In order: the incident, the step's words, the all-clear.
    expect(chatTexts().map((text) => text.split('\n')[0])).toEqual(['[CRITICAL] main-server is down', '[CRITICAL] main server failed over to the backup server', '[RESOLVED] main-server is down']);
    // The same step announced again (a repeated call) sends nothing new.
    expect(await notifier.announce({ incidentId: incident.id, severity: 'critical', text: 'main server failed over to the backup server', key: 'run-1/tell-ops' }, 5000)).toMatchObject({ delivered: true });
    expect(chat.requests).toHaveLength(3);
  });

  it('an announcement no channel accepts is reported as not delivered, with the reason', async () => {
    const dead = await freePort();
    const { incidents, notifier } = await rig({ extra: { channels: { chat: { webhookUrl: `http://127.0.0.1:${dead}/hook`, timeoutMs: 2000 } }, contacts: [] } });
    const incident = incidents.raise({ key: 'runbook:main-server', title: 'main-server is down', severity: 'critical', detail: 'down' });
    const outcome = await notifier.announce({ incidentId: incident.id, severity: 'critical', text: 'failed over', key: 'run-2/tell-ops' }, 300);
    expect(outcome).toMatchObject({ delivered: false, reason: expect.stringMatching(/^chat: team chat: not accepted yet, still retrying \(.*ECONNREFUSED.*\)$/) });
  });

  it('links point at what central serves when notify.publicUrl is not set, and a loopback address with contacts is warned about', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>), done()) });
    const { publicUrl: _set, ...base } = config();
    const { incidents, at } = await rig({}, { config: notifyConfigSchema.parse({ ...base, channels: { chat: { webhookUrl: `${chat.url}/hooks/team` } } }), servedUrl: () => 'http://127.0.0.1:18080', log: createLogger({ name: 'central', level: 'warn', destination: sink }) });
    incidents.raise(PRINTER_DOWN);
    await at(0);
    expect(chatTexts()[0]).toContain('Acknowledge: http://127.0.0.1:18080/api/ack/');
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, publicUrl: 'http://127.0.0.1:18080', configured: false, msg: expect.stringContaining('notify.publicUrl is a loopback address') }));
  });
});
