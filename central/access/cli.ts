import { join } from 'node:path';
import type { Command } from '../../lib/cli.js';
import { CodedError } from '../../lib/errors.js';
import { pino } from 'pino';
import { createLogger } from '../../lib/log.js';
import { systemClock } from '../../lib/clock.js';
import { withTimeout } from '../../lib/timeout.js';
import { loadCentralConfig } from '../config.js';
import { ROLES, type Role } from '../plugin.js';
import { SqliteCentralStore } from '../store/sqlite.js';
import { Access } from './access.js';
import { randomSecret } from './secrets.js';
import { PostgresAccessStore, SqliteAccessStore } from './store.js';

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** Central's user store as the config says (its SQLite, or PostgreSQL shared by replicas), running or not. */
async function withAccess<T>(configFile: string | undefined, work: (access: Access) => Promise<T>): Promise<T> {
  const config = loadCentralConfig(configFile);
  // The CLI's own log goes to stderr, so what it prints for people stays clean on stdout.
  const log = createLogger({ name: 'hotpot-access', level: process.env.HOTPOT_LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
  const url = config.database.url;
  const sqlite = url ? undefined : new SqliteCentralStore(join(config.dataDir, 'central.db'));
  const store = url ? new PostgresAccessStore(url) : new SqliteAccessStore(sqlite!.db, systemClock.now());
  try {
    return await work(new Access({ store, clock: systemClock, log, sessionTtlMs: config.http.sessionTtl, dataDir: config.dataDir }));
  } finally {
    await store.close();
    sqlite?.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  await withTimeout(read, 60_000, 'the password on standard input');
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function roleOf(value: unknown): Role {
  if (typeof value !== 'string' || !(ROLES as readonly string[]).includes(value)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

class UsageError extends Error {}

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

/** Runs one action; usage problems exit 2, refusals (a taken name, a weak password) 1, each with one line. */
async function run(name: string, usage: string, action: () => Promise<void>): Promise<number> {
  try {
    await action();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`hotpot ${name}: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    if (error instanceof CodedError) {
      process.stderr.write(`hotpot ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

const USER_USAGE = [
  'usage: hotpot user add NAME --role ROLE [--password-stdin] [--config FILE]',
  '       hotpot user list [--config FILE]',
  '       hotpot user remove NAME [--config FILE]',
  '       hotpot user passwd NAME [--password-stdin] [--config FILE]',
  '',
  `Central's named users; roles, each including the ones before: ${ROLES.join(', ')}.`,
  'Without --password-stdin a password is generated and printed once. Removing a user or changing',
  "a password ends that user's sessions. Works whether central runs or not (same --config as hotpot central).",
].join('\n');

export const userCommand: Command = {
  name: 'user',
  summary: "add, list and remove central's users, change a password",
  usage: USER_USAGE,
  options: { config: { type: 'string', short: 'c' }, role: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
  run: (values: Values, positionals: string[]) =>
    run('user', USER_USAGE, async () => {
      const [action, user] = positionals;
      const config = values.config as string | undefined;
      const password = async () => (values['password-stdin'] ? { value: await readStdin(), generated: false } : { value: randomSecret(15), generated: true });
      switch (action) {
        case 'add': {
          if (!user) throw new UsageError('name the user to add');
          const role = roleOf(values.role);
          const secret = await password();
          await withAccess(config, (access) => access.addUser(user, role, secret.value));
          process.stdout.write(`added ${user} (${role})${secret.generated ? `\npassword: ${secret.value}\n(shown once: give it to ${user} now)` : ''}\n`);
          return;
        }
        case 'passwd': {
          if (!user) throw new UsageError('name the user whose password changes');
          const secret = await password();
          await withAccess(config, (access) => access.setPassword(user, secret.value));
          process.stdout.write(`password of ${user} changed; their sessions ended${secret.generated ? `\npassword: ${secret.value}\n(shown once)` : ''}\n`);
          return;
        }
        case 'remove': {
          if (!user) throw new UsageError('name the user to remove');
          await withAccess(config, (access) => access.removeUser(user));
          process.stdout.write(`removed ${user}; their sessions ended\n`);
          return;
        }
        case 'list': {
          const users = await withAccess(config, (access) => access.store.listUsers());
          process.stdout.write(users.length ? `${users.map((u) => `${u.name}\t${u.role}\tsince ${when(u.createdAt)}\tpassword set ${when(u.passwordChangedAt)}`).join('\n')}\n` : 'no users yet\n');
          return;
        }
        default:
          throw new UsageError(action ? `unknown action "${action}"` : 'say what to do: add, list, remove or passwd');
      }
    }),
};

const TOKEN_USAGE = [
  'usage: hotpot token create NAME --role ROLE [--config FILE]',
  '       hotpot token list [--config FILE]',
  '       hotpot token revoke NAME [--config FILE]',
  '',
  'Bearer tokens for programs (Authorization: Bearer <token> on every API). The token is printed once',
  'and kept only as a hash. Works whether central runs or not.',
].join('\n');

export const tokenCommand: Command = {
  name: 'token',
  summary: 'create, list and revoke API tokens for central',
  usage: TOKEN_USAGE,
  options: { config: { type: 'string', short: 'c' }, role: { type: 'string' } },
  run: (values: Values, positionals: string[]) =>
    run('token', TOKEN_USAGE, async () => {
      const [action, token] = positionals;
      const config = values.config as string | undefined;
      switch (action) {
        case 'create': {
          if (!token) throw new UsageError('name the token (who or what uses it)');
          const role = roleOf(values.role);
          const secret = await withAccess(config, (access) => access.createToken(token, role));
          process.stdout.write(`${secret}\n`);
          process.stderr.write(`token ${token} (${role}) created: shown once, store it now\n`);
          return;
        }
        case 'revoke': {
          if (!token) throw new UsageError('name the token to revoke');
          await withAccess(config, (access) => access.revokeToken(token));
          process.stdout.write(`revoked ${token}\n`);
          return;
        }
        case 'list': {
          const tokens = await withAccess(config, (access) => access.store.listTokens());
          process.stdout.write(tokens.length ? `${tokens.map((t) => `${t.name}\t${t.role}\tsince ${when(t.createdAt)}`).join('\n')}\n` : 'no tokens\n');
          return;
        }
        default:
          throw new UsageError(action ? `unknown action "${action}"` : 'say what to do: create, list or revoke');
      }
    }),
};
