import { pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/** Mosquitto 2's password hash: `$7$` = PBKDF2-SHA512, 101 iterations, 12-byte salt, 64-byte key. */
const MOSQUITTO_HASH_ID = 7;
const MOSQUITTO_ITERATIONS = 101;
const MOSQUITTO_SALT_BYTES = 12;
const MOSQUITTO_KEY_BYTES = 64;

const pbkdf2Async = promisify(pbkdf2);

/** One `password_file` line, byte-compatible with `mosquitto_passwd` from Mosquitto 2. */
export function mosquittoPasswordLine(username: string, password: string, salt: Buffer = randomBytes(MOSQUITTO_SALT_BYTES)): string {
  if (username.includes(':') || /\s/.test(username)) throw new Error(`username "${username}" cannot hold ":" or spaces in a Mosquitto password file`);
  const hash = pbkdf2Sync(password, salt, MOSQUITTO_ITERATIONS, MOSQUITTO_KEY_BYTES, 'sha512');
  return `${username}:$${MOSQUITTO_HASH_ID}$${MOSQUITTO_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export interface PasswordEntry {
  username: string;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
  /** The stored hash as written: a changed one means a new password. */
  stored: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PasswordLine = z.object({
  username: z.string().min(1).max(256),
  id: z.literal(String(MOSQUITTO_HASH_ID), { error: 'is not a $7$ (PBKDF2-SHA512) hash: re-hash it with mosquitto_passwd -U (Mosquitto 2) or hotpot provision-point --rotate' }),
  // The file is the administrator's, but a typo must not make every login spin for minutes.
  iterations: z.coerce.number().int().min(1).max(1_000_000),
  salt: z.string().regex(BASE64, 'salt is not base64'),
  hash: z.string().regex(BASE64, 'hash is not base64').refine((hash) => Buffer.from(hash, 'base64').length >= 32, 'hash is too short'),
});

export interface ParsedPasswordFile {
  entries: Map<string, PasswordEntry>;
  /** One line per line the broker cannot use (never the hash itself). */
  problems: string[];
}

/** Mosquitto's password file: `user:$7$iterations$salt$hash` lines; blank lines and `#` comments are skipped. */
export function parsePasswordFile(text: string): ParsedPasswordFile {
  const entries = new Map<string, PasswordEntry>();
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const username = colon > 0 ? line.slice(0, colon) : '';
    const [, id, iterations, salt, hash, ...extra] = line.slice(colon + 1).split('$');
    const parsed = PasswordLine.safeParse({ username, id, iterations, salt, hash });
    if (!parsed.success || extra.length > 0) {
      const why = parsed.success ? 'has more fields than user:$7$iterations$salt$hash' : parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ');
      problems.push(`line ${index + 1}${username ? ` (${username})` : ''}: ${why}`);
      return;
    }
    const value = parsed.data;
    entries.set(value.username, {
      username: value.username,
      iterations: value.iterations,
      salt: Buffer.from(value.salt, 'base64'),
      hash: Buffer.from(value.hash, 'base64'),
      stored: line.slice(colon + 1),
    });
  });
  return { entries, problems };
}

/** Whether `password` is the entry's, compared in constant time. */
export async function passwordMatches(entry: PasswordEntry, password: string): Promise<boolean> {
  const derived = await pbkdf2Async(password, entry.salt, entry.iterations, entry.hash.length, 'sha512');
  return timingSafeEqual(derived, entry.hash);
}

/** Stands in for an unknown user, so a wrong username costs the same time as a wrong password. */
export const DECOY_ENTRY: PasswordEntry = {
  username: '',
  iterations: MOSQUITTO_ITERATIONS,
  salt: randomBytes(MOSQUITTO_SALT_BYTES),
  hash: randomBytes(MOSQUITTO_KEY_BYTES),
  stored: '',
};

const userOf = (line: string) => line.split(':', 1)[0];

/**
 * Puts `lines` into a Mosquitto password file, replacing those users' old lines (credential
 * rotation), and takes the lines of the users in `remove` out (a point isolated). The new content replaces the file in one rename, so a broker reading it (central's
 * embedded one watches it) never sees half of it; the file keeps the owner and mode the installer
 * gave it (root:mosquitto 0640). A new file gets 0640.
 */
export function updatePasswordFile(file: string, lines: readonly string[], remove: readonly string[] = []): void {
  const replaced = new Set([...lines.map(userOf), ...remove]);
  const before = existsSync(file) ? statSync(file) : undefined;
  const kept = before
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((existing) => existing.trim() !== '' && !replaced.has(userOf(existing)))
    : [];
  const content = `${[...kept, ...lines].join('\n')}\n`;
  const mode = before ? before.mode & 0o777 : 0o640;
  mkdirSync(dirname(file), { recursive: true });
  const staged = `${file}.${process.pid}.new`;
  writeFileSync(staged, content, { mode });
  try {
    chmodSync(staged, mode);
    if (before) chownSync(staged, before.uid, before.gid);
  } catch {
    // Not allowed to give the new file the old owner: write in place, which keeps it.
    rmSync(staged, { force: true });
    writeFileSync(file, content);
    return;
  }
  renameSync(staged, file);
}

