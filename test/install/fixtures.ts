import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { withTimeout } from '../../lib/timeout.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const INSTALL = join(REPO, 'install');

const made = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hotpot-${prefix}-`));
  made.add(dir);
  return dir;
}

/** Removes every directory tempDir made in this test file (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/**
 * A tiny built app with no dependencies, so `npm ci --omit=dev` runs for real and offline.
 * Its `prepare` script fails, as the real one would on a box without TypeScript: the
 * installer must strip it. `node_modules` links to the checkout's, so the installer can read
 * agent.db with better-sqlite3 from the source tree, as it does from a built checkout.
 */
export function makeFixtureApp(dir: string, build: string): string {
  mkdirSync(join(dir, 'dist/bin'), { recursive: true });
  const name = 'hotpot-fixture';
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, scripts: { prepare: 'exit 1' } }, null, 2));
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0' } } }, null, 2),
  );
  writeFileSync(join(dir, 'dist/bin/hotpot.js'), `// fixture build ${build}\nprocess.exit(0);\n`);
  return dir;
}

/** An ordinary user's uid and gid (a checkout's usual owner), and a umask-002 style group write bit. */
export const ORDINARY_USER = 1000;

/**
 * Gives a checkout to an ordinary user, group-writable as under umask 002 (as root; elsewhere the
 * files are the caller's already). Symlinks are changed themselves, never followed.
 */
export function ownAsOrdinaryUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const walk = (path: string) => {
    const stat = lstatSync(path);
    lchownSync(path, ORDINARY_USER, ORDINARY_USER);
    if (stat.isSymbolicLink()) return;
    chmodSync(path, (stat.mode & 0o777) | 0o020);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
}

/** Paths under `dir` that someone other than root could change: not owned by root (as root), or writable by group or others. */
export function notRootOnly(dir: string): string[] {
  const asRoot = process.getuid?.() === 0;
  const found: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if ((asRoot && (stat.uid !== 0 || stat.gid !== 0)) || (!stat.isSymbolicLink() && (stat.mode & 0o022) !== 0)) found.push(`${path} ${stat.uid}:${stat.gid} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return found;
}

/**
 * A root with copies of this host's account files, so useradd --root has something to edit
 * (as root; without root the installers leave accounts alone and the shadow files stay out).
 */
export function makeRoot(): string {
  const root = tempDir('root');
  mkdirSync(join(root, 'etc'));
  const files = process.getuid?.() === 0 ? ['passwd', 'group', 'shadow', 'gshadow'] : ['passwd', 'group'];
  for (const file of files) copyFileSync(join('/etc', file), join(root, 'etc', file));
  return root;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(command, args, { timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false', ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export function installer(script: 'agent.sh' | 'central.sh', args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run('bash', [join(INSTALL, script), ...args], 120_000, env);
}

/** Every path under dir with its type, mode, owner, mtime and content hash. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (path: string) => {
    const stat = lstatSync(path);
    const common = `${stat.mode.toString(8)} ${stat.uid}:${stat.gid} ${stat.mtimeMs}`;
    if (stat.isSymbolicLink()) out.set(path, `link ${common} ${readlinkSync(path)}`);
    else if (stat.isDirectory()) {
      out.set(path, `dir ${common}`);
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else out.set(path, `file ${common} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
  };
  walk(dir);
  return out;
}

export function modeOf(path: string): string {
  return (lstatSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

/** Connects with mqtt.js, no retries; rejects with the broker's refusal or the TLS error. */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, clean: true, ...options });
  const outcome = new Promise<MqttClient>((resolvePromise, reject) => {
    client.once('connect', () => resolvePromise(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  return withTimeout(outcome, 15_000, `MQTT connect to ${url}`);
}
