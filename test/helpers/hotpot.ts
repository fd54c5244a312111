import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type IncomingHttpHeaders } from 'node:http';
import { packageRoot } from '../../lib/paths.js';
import { withTimeout } from '../../lib/timeout.js';
import { startChild, type Child } from '../peers/process.js';
import type { UnitRuntime } from './unit-runtime.js';

export const HOTPOT_BIN = join(packageRoot(), 'dist', 'bin', 'hotpot.js');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `hotpot-${prefix}-`));
}

export interface HotpotProcess extends Child {
  /** The parsed `{"msg":"ready"}` log line. */
  ready: Record<string, unknown>;
  logs: Record<string, unknown>[];
  httpPort: number;
}

/**
 * Starts `hotpot <command>` from the build (dist/) as a child process with HOTPOT_* env, and
 * resolves when it logs `ready`. Killed by PID by the test. `runtime` runs it as a systemd unit
 * would (see unitRuntime): node's flags and the unit's environment.
 */
export async function startHotpot(command: 'agent' | 'central', env: Record<string, string>, timeoutMs = 20_000, runtime?: UnitRuntime): Promise<HotpotProcess> {
  if (!existsSync(HOTPOT_BIN)) throw new Error(`${HOTPOT_BIN} is missing: run npm run build first (npm test does)`);
  const child = startChild(process.execPath, [...(runtime?.nodeArgs ?? []), HOTPOT_BIN, command], {
    env: { ...process.env, HOTPOT_LOG_LEVEL: 'info', ...runtime?.env, ...env },
  });
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  const ready = await withTimeout(
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.proc.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            logs.push(entry);
            if (entry.msg === 'ready') resolve(entry);
          } catch {
            // not a log line
          }
        }
      });
      let stderr = '';
      child.proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      void child.exited.then((code) => reject(new Error(`hotpot ${command} exited with ${code} before ready: ${stderr.slice(-2000)}`)));
    }),
    timeoutMs,
    `hotpot ${command} to log "ready"`,
  ).catch(async (error: unknown) => {
    // Never leave a child that did not come up running behind the test.
    await child.kill('SIGKILL').catch(() => undefined);
    throw error;
  });
  const http = ready.http as { port: number };
  // The suite signs in to every central it starts, as an admin with a token of its own.
  if (command === 'central') {
    const token = await suiteTokenFor(env).catch(async (error: unknown) => {
      // A central the caller never gets back must not stay running (a retry would start a second one on its data).
      await child.kill('SIGKILL').catch(() => undefined);
      throw error;
    });
    authorize(http.port, token);
  }
  return { ...child, ready, logs, httpPort: http.port };
}

/**
 * Admin tokens the suite made, by the store they live in (a dataDir, or a PostgreSQL URL replicas
 * share), so a restarted central keeps its token. Promises, so replicas started together share one.
 */
export const issuedTokens = new Map<string, Promise<string>>();

/**
 * An admin token for a central child process, made the way an operator would (`hotpot token
 * create` with the same env).
 */
async function suiteTokenFor(env: Record<string, string>): Promise<string> {
  const key = env.HOTPOT_DATABASE_URL ?? env.HOTPOT_DATA_DIR;
  if (!key) throw new Error('a central env names its HOTPOT_DATA_DIR');
  let token = issuedTokens.get(key);
  if (!token) {
    token = promisify(execFile)(process.execPath, [HOTPOT_BIN, 'token', 'create', `suite-${issuedTokens.size + 1}`, '--role', 'admin'], { env: { ...process.env, ...env }, timeout: 30_000 }).then(({ stdout }) => stdout.trim());
    issuedTokens.set(key, token);
    // A failed creation is not remembered: the next start tries again.
    void token.catch(() => issuedTokens.delete(key));
  }
  return token;
}

/** Bearer tokens the suite signs in with, by the HTTP port of the central that issued them. */
const suiteTokens = new Map<number, string>();

/** From now on `httpJson` to this port signs in with `token` (unless the call sets its own authorization). */
export function authorize(port: number, token: string): void {
  suiteTokens.set(port, token);
}

/** The suite's token for a central's port, for requests made without httpJson (fetch, browsers). */
export function suiteToken(port: number): string | undefined {
  return suiteTokens.get(port);
}

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: IncomingHttpHeaders;
}

/**
 * A real HTTP request with a JSON body (and any extra headers: cookies, Origin, Host), with a
 * timeout. To a central the suite started it signs in with the suite's token, unless `headers`
 * say otherwise (`authorization: ''` sends none).
 */
export function httpJson<T = unknown>(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  const token = suiteTokens.get(port);
  if (token && !('authorization' in headers) && !('cookie' in headers)) headers = { ...headers, authorization: `Bearer ${token}` };
  if (headers.authorization === '') {
    const { authorization: _omitted, ...rest } = headers;
    headers = rest;
  }
  return withTimeout(
    new Promise<HttpResult<T>>((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        { host: '127.0.0.1', port, path, method, headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // plain text body
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    }),
    10_000,
    `${method} ${path} on 127.0.0.1:${port}`,
  );
}
