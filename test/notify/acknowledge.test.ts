import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import { startCentral } from '../helpers/inproc.js';
import { tempDir } from '../helpers/hotpot.js';
import { waitFor } from '../peers/net.js';
import { startHttpReceiver, startTwilioPeer, type HttpReceiver, type TwilioPeer } from './receivers.js';

const ACCOUNT = { sid: 'AC0123456789abcdef', authToken: 'twilio-auth-token-0123', from: '+995322000000' };
const ON_DUTY = '+995555000111';

/** Acknowledging from a phone, through a whole central (its access gate included) and a Twilio-shaped peer. */
describe('acknowledge from anywhere: a key pressed during a call, an SMS reply, the short link in an SMS', () => {
  let dir: string;
  let central: Central;
  let twilio: TwilioPeer;
  let chat: HttpReceiver;
  let base: string;

  beforeAll(async () => {
    dir = tempDir('notify-ack');
    twilio = await startTwilioPeer(ACCOUNT);
    chat = await startHttpReceiver();
    const now = { afterMinutes: 0 };
    central = await startCentral(dir, {
      extra: {
        notify: {
          // No publicUrl: links point at what central serves (127.0.0.1 and its port, which its gate admits).
          contacts: [{ name: 'on-duty', phone: ON_DUTY, language: 'ru' }],
          channels: {
            chat: { webhookUrl: `${chat.url}/hook` },
            twilio: { baseUrl: twilio.url, accountSid: ACCOUNT.sid, authToken: ACCOUNT.authToken, from: ACCOUNT.from, ackByKeypress: true, ackBySmsReply: true },
          },
          ladders: {
            critical: { steps: [{ ...now, channel: 'call', to: ['on-duty'] }] },
            major: { steps: [{ ...now, channel: 'sms', to: ['on-duty'] }] },
          },
        },
      },
    });
    base = `http://127.0.0.1:${central.httpPort}`;
  });

  afterAll(async () => {
    await central?.stop();
    await twilio?.close();
    await chat?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a call asks for a key (TwiML <Gather>); a signed key press acknowledges, a forged signature is refused', async () => {
    const incident = central.incidents.raise({ key: 'runbook:main-server', title: 'main-server is down', severity: 'critical', detail: 'GET /api/status refused' });
    await waitFor(() => twilio.calls().length === 1, 'central to place the call');
    const [call] = twilio.calls();
    const twiml = call!.get('Twiml')!;
    expect(twiml).toMatch(/^<Response><Gather input="dtmf" numDigits="1" timeout="10" method="POST" action="[^"]+"><Say language="ru-RU">Хот Пот Спот, тревога: критично\. main-server is down\. GET \/api\/status refused\. Нажмите 1, чтобы подтвердить\.<\/Say><\/Gather><Say language="ru-RU">Клавиша не нажата/);
    const action = twilio.gatherAction(call!)!;
    expect(action).toMatch(new RegExp(`^${base}/api/twilio/call/${incident.id}\\?by=on-duty&token=[\\w-]{43}$`));

    // Signed with another account's token: refused, nothing acked.
    expect(await twilio.pressKey(call!, '1', 'not-the-auth-token')).toMatchObject({ status: 403 });
    // Not signed at all.
    const unsigned = await fetch(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Digits=1' });
    expect(unsigned.status).toBe(403);
    // Signed by Twilio but for a link central did not make (the ack token is for on-duty): refused too.
    const tampered = new URL(action);
    tampered.searchParams.set('by', 'someone-else');
    const forgedCall = new URLSearchParams({ To: ON_DUTY, Twiml: `<Response><Gather action="${tampered.toString().replace(/&/g, '&amp;')}"></Gather></Response>` });
    expect(await twilio.pressKey(forgedCall, '1')).toEqual({ status: 403, text: 'invalid ack token' });
    expect(central.incidents.get(incident.id)!.status).toBe('open');

    // Another key: nothing acked, the call says how else to acknowledge.
    const other = await twilio.pressKey(call!, '2');
    expect(other.status).toBe(200);
    expect(other.text).toContain('Клавиша не нажата');
    expect(central.incidents.get(incident.id)!.status).toBe('open');

    const pressed = await twilio.pressKey(call!, '1');
    expect(pressed.status).toBe(200);
    expect(pressed.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ru-RU">Подтверждено. Эскалация остановлена. До свидания.</Say></Response>');
    expect(central.incidents.get(incident.id)).toMatchObject({ status: 'acked', ackedBy: 'on-duty (call)' });
    expect((await twilio.pressKey(call!, '1')).text).toContain('Подтверждать нечего');
  });

  it('an SMS carries a short link that fits one message; its page acknowledges after a confirmation', async () => {
    twilio.clear();
    const incident = central.incidents.raise({ key: 'point:batumi-01:printer', title: 'Printer down', severity: 'major', detail: 'no paper', pointId: 'batumi-01' });
    await waitFor(() => twilio.messages().length === 1, 'central to send the SMS');
    const body = twilio.messages()[0]!.get('Body')!;
    const link = /(http:\/\/\S+\/api\/a\/[2-9a-zA-Z]{12})$/.exec(body)?.[1];
    expect(link, body).toBeDefined();
    expect(link!.length).toBeLessThan(50);
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"');
    expect(central.incidents.get(incident.id)!.status).toBe('open');
    expect((await fetch(`${base}/api/a/AAAAAAAAAAAA`, { method: 'POST' })).status).toBe(403);
    const acked = await fetch(link!, { method: 'POST' });
    expect(await acked.text()).toContain('Acknowledged');
    expect(central.incidents.get(incident.id)).toMatchObject({ status: 'acked', ackedBy: 'on-duty (SMS link)' });
  });

  it('a reply to an SMS acknowledges the newest open incident paged to that phone; forged or unknown senders get nothing', async () => {
    twilio.clear();
    const first = central.incidents.raise({ key: 'point:kutaisi-01:printer', title: 'Printer down at kutaisi-01', severity: 'major', detail: 'offline' });
    await waitFor(() => twilio.messages().length === 1, 'the first SMS');
    const second = central.incidents.raise({ key: 'point:kutaisi-02:printer', title: 'Printer down at kutaisi-02', severity: 'major', detail: 'offline' });
    await waitFor(() => twilio.messages().length === 2, 'the second SMS');
    const webhook = `${base}/api/twilio/sms`;

    expect(await twilio.replySms(webhook, ON_DUTY, 'ok', 'forged-token')).toMatchObject({ status: 403 });
    expect(await twilio.replySms(webhook, '+995599999999', 'ok')).toEqual({ status: 200, text: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' });
    expect(central.incidents.get(first.id)!.status).toBe('open');
    expect(central.incidents.get(second.id)!.status).toBe('open');

    const reply = await twilio.replySms(webhook, ON_DUTY, 'ok');
    expect(reply.text).toContain('<Message>Acknowledged: Printer down at kutaisi-02. 1 more open: reply again to acknowledge the next.</Message>');
    expect(central.incidents.get(second.id)).toMatchObject({ status: 'acked', ackedBy: 'on-duty (SMS reply)' });
    expect(central.incidents.get(first.id)!.status).toBe('open');
    expect((await twilio.replySms(webhook, ON_DUTY, '1')).text).toContain('<Message>Acknowledged: Printer down at kutaisi-01.</Message>');
    expect(central.incidents.get(first.id)!.status).toBe('acked');
    expect((await twilio.replySms(webhook, ON_DUTY, 'ok')).text).toContain('Nothing open to acknowledge.');
  });

  it('an incident acked at minor and raised to critical rings the phone at once; the timeline names the ack that no longer holds', async () => {
    twilio.clear();
    const minor = { key: 'point:rustavi-01:disk', title: 'Disk above 80 %', severity: 'minor', detail: 'disk 82 % used', pointId: 'rustavi-01' } as const;
    const incident = central.incidents.raise(minor);
    await waitFor(() => chat.requests.some((r) => r.body.includes('Disk above 80 %')), 'the minor chat page');
    central.incidents.ack(incident.id, 'nino');
    central.incidents.raise({ ...minor, severity: 'critical', title: 'Disk full', detail: 'disk full, orders refused' });
    await waitFor(() => twilio.calls().length === 1, 'the call of the critical ladder');
    expect(twilio.calls()[0]!.get('Twiml')).toContain('Disk full');
    expect(central.incidents.timeline(incident.id).map((entry) => entry.text)).toContainEqual(
      expect.stringMatching(/^severity raised minor → critical: paging again from the first step of the critical ladder; the acknowledgement by nino .+ ago no longer holds$/),
    );
  });
});
