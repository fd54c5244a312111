import { execFile } from 'node:child_process';
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

/** A real HTTP server on a free loopback port that records every request (chat webhook, Twilio's API). */
export async function startHttpReceiver(answer: (req: ReceivedRequest) => { status: number; body: string } = () => ({ status: 200, body: 'ok' })) {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      const reply = answer(received);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
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

export interface ReceivedMail {
  user: string | undefined;
  secure: boolean;
  from: string | undefined;
  to: string[];
  /** The message with quoted-printable soft breaks and `=3D` undone, enough to search its text. */
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
          text: raw.replace(/=\r?\n/g, '').replace(/=3D/g, '='),
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
