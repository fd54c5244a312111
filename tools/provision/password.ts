import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mosquittoPasswordLine } from '../../central/broker/password-file.js';

export { mosquittoPasswordLine };

/** 256 random bits, URL-safe so it survives JSON, env vars and shells unquoted. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

export interface BrokerLogin {
  username: string;
  password: string;
}

const userOf = (line: string) => line.split(':', 1)[0];

/**
 * Puts `lines` into a Mosquitto password file, replacing those users' old lines (credential
 * rotation). The new content replaces the file in one rename, so a broker reading it (central's
 * embedded one watches it) never sees half of it; the file keeps the owner and mode the installer
 * gave it (root:mosquitto 0640). A new file gets 0640.
 */
export function upsertPasswordFile(file: string, ...lines: string[]): void {
  const replaced = new Set(lines.map(userOf));
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

/** Puts these logins into a Mosquitto password file, hashed as Mosquitto 2 does (see upsertPasswordFile). */
export function writeLogins(file: string, logins: readonly BrokerLogin[]): void {
  upsertPasswordFile(file, ...logins.map((login) => mosquittoPasswordLine(login.username, login.password)));
}
