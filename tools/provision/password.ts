import { randomBytes } from 'node:crypto';
import { mosquittoPasswordLine, updatePasswordFile } from '../../central/broker/password-file.js';

export { mosquittoPasswordLine };

/** 256 random bits, URL-safe so it survives JSON, env vars and shells unquoted. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

export interface BrokerLogin {
  username: string;
  password: string;
}

/**
 * Puts `lines` into a Mosquitto password file, replacing those users' old lines (credential
 * rotation); see updatePasswordFile.
 */
export function upsertPasswordFile(file: string, ...lines: string[]): void {
  updatePasswordFile(file, lines);
}

/** Puts these logins into a Mosquitto password file, hashed as Mosquitto 2 does (see upsertPasswordFile). */
export function writeLogins(file: string, logins: readonly BrokerLogin[]): void {
  upsertPasswordFile(file, ...logins.map((login) => mosquittoPasswordLine(login.username, login.password)));
}
