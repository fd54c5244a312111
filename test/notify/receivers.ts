import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { withTimeout } from '../../lib/timeout.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Answer = { status: number; body: string };

/**
 * A real HTTP server on a free loopback port that records every request (chat webhook, Twilio's API,
 * a backup server's start hook); `answer` may take its time (e.g. start something first).
 */
export async function startHttpReceiver(answer: (req: ReceivedRequest) => Answer | Promise<Answer> = () => ({ status: 200, body: 'ok' })) {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      void Promise.resolve()
        .then(() => answer(received))
        .catch((error: unknown) => ({ status: 500, body: JSON.stringify({ error: (error as Error).message }) }))
        .then((reply) => {
          res.writeHead(reply.status, { 'content-type': 'application/json' });
          res.end(reply.body);
        });
    });
  });
  await withTimeout(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 5000, 'HTTP receiver listen');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      withTimeout(
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        5000,
        'HTTP receiver close',
      ),
  };
}
export type HttpReceiver = Awaited<ReturnType<typeof startHttpReceiver>>;

/** A self-signed certificate for 127.0.0.1, made by the real openssl. */
export async function makeCertificate(dir: string): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = join(dir, 'smtp-key.pem');
  const certFile = join(dir, 'smtp-cert.pem');
  await promisify(execFile)(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
    { timeout: 20_000 },
  );
  return { keyFile, certFile };
}

function decodeQuotedPrintable(raw: string): string {
  const text = raw.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? /^[0-9A-F]{2}$/.exec(text.slice(i + 1, i + 3))?.[0] : undefined;
    if (hex) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface ReceivedMail {
  user: string | undefined;
  secure: boolean;
  from: string | undefined;
  to: string[];
  /** The message with its quoted-printable undone (soft breaks, `=XX` bytes as UTF-8), enough to search its text. */
  text: string;
}

/** A real SMTP server (smtp-server) offering STARTTLS and requiring auth over TLS. */
export async function startSmtpReceiver(options: { key: Buffer; cert: Buffer; user: string; pass: string }) {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    key: options.key,
    cert: options.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.pass) callback(null, { user: auth.username });
      else callback(new Error('invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          user: session.user as string | undefined,
          secure: session.secure,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          text: decodeQuotedPrintable(raw),
        });
        callback();
      });
    },
  });
  await withTimeout(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 5000, 'SMTP receiver listen');
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    mails,
    close: () => withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'SMTP receiver close'),
  };
}

/**
 * A Twilio-shaped peer: its REST API (`Messages.json`, `Calls.json`) checks the account's Basic
 * auth and records what central sends; and it calls central back as Twilio does, a form POST
 * signed with `X-Twilio-Signature` (HMAC-SHA1 of the URL and the sorted parameters, with the
 * account's auth token), for a key pressed during a call or a reply to an SMS.
 */
export async function startTwilioPeer(account: { sid: string; authToken: string; from: string }) {
  const auth = `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`;
  const api = await startHttpReceiver((req) => (req.headers.authorization === auth ? { status: 201, body: '{"sid":"SM1"}' } : { status: 401, body: '{"code":20003,"message":"Authenticate"}' }));
  const forms = (resource: 'Messages' | 'Calls') => api.requests.filter((r) => r.path.endsWith(`/${resource}.json`)).map((r) => new URLSearchParams(r.body));
  /** Twilio's signature, written from its documentation (not central's code). */
  const sign = (url: string, params: URLSearchParams, authToken: string) =>
    createHmac('sha1', authToken)
      .update(url + [...params.keys()].sort().map((key) => `${key}${params.get(key)}`).join(''))
      .digest('base64');
  const post = async (url: string, params: Record<string, string>, authToken: string) => {
    const form = new URLSearchParams(params);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(url, form, authToken), 'i-twilio-idempotency-token': 'test' },
      body: form.toString(),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, text: await res.text() };
  };
  return {
    url: api.url,
    requests: api.requests,
    messages: () => forms('Messages'),
    calls: () => forms('Calls'),
    /** The `<Gather>` action of a call central placed, as Twilio reads it from the TwiML. */
    gatherAction(call: URLSearchParams): string | null {
      const action = /<Gather\b[^>]*\baction="([^"]+)"/.exec(call.get('Twiml') ?? '')?.[1];
      return action ? action.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>') : null;
    },
    /** The person pressed `digits` during `call`: Twilio posts them to the Gather action. */
    pressKey(call: URLSearchParams, digits: string, signWith = account.authToken) {
      const action = this.gatherAction(call);
      if (!action) throw new Error(`the call has no <Gather>: ${call.get('Twiml')}`);
      return post(action, { AccountSid: account.sid, CallSid: 'CA0123456789abcdef0123456789abcdef', CallStatus: 'in-progress', Digits: digits, From: account.from, To: call.get('To') ?? '' }, signWith);
    },
    /** `from` answered an SMS with `body`: Twilio posts it to the number's messaging webhook. */
    replySms(webhook: string, from: string, body: string, signWith = account.authToken) {
      return post(webhook, { AccountSid: account.sid, MessageSid: 'SM0123456789abcdef0123456789abcdef', From: from, To: account.from, Body: body, NumMedia: '0' }, signWith);
    },
    clear: () => void (api.requests.length = 0),
    close: () => api.close(),
  };
}
export type TwilioPeer = Awaited<ReturnType<typeof startTwilioPeer>>;
