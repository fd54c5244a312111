import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Mosquitto 2's password hash: `$7$` = PBKDF2-SHA512, 101 iterations, 12-byte salt, 64-byte key. */
const MOSQUITTO_HASH_ID = 7;
const MOSQUITTO_ITERATIONS = 101;
const MOSQUITTO_SALT_BYTES = 12;
const MOSQUITTO_KEY_BYTES = 64;

/** 256 random bits, URL-safe so it survives JSON, env vars and shells unquoted. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

/** One `password_file` line, byte-compatible with `mosquitto_passwd` from Mosquitto 2. */
export function mosquittoPasswordLine(username: string, password: string, salt: Buffer = randomBytes(MOSQUITTO_SALT_BYTES)): string {
  if (username.includes(':') || /\s/.test(username)) throw new Error(`username "${username}" cannot hold ":" or spaces in a Mosquitto password file`);
  const hash = pbkdf2Sync(password, salt, MOSQUITTO_ITERATIONS, MOSQUITTO_KEY_BYTES, 'sha512');
  return `${username}:$${MOSQUITTO_HASH_ID}$${MOSQUITTO_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Puts `line` into a Mosquitto password file, replacing the user's old line (credential rotation).
 * Writes in place so the file keeps the owner and mode the installer gave it (root:mosquitto 0640);
 * a new file gets 0640.
 */
export function upsertPasswordFile(file: string, line: string): void {
  const username = line.slice(0, line.indexOf(':'));
  const kept = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((existing) => existing.trim() !== '' && !existing.startsWith(`${username}:`))
    : [];
  writeFileSync(file, `${[...kept, line].join('\n')}\n`, { mode: 0o640 });
}
