import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from '../../lib/log.js';
import { ConfigError } from '../../lib/config.js';
import { withTimeout } from '../../lib/timeout.js';
import { listenOn } from '../../lib/net.js';
import { brokerUser, clientIdAllowed, mayPublish, maySubscribe } from './acl.js';
import { parsePasswordFile, updatePasswordFile } from './password-file.js';
import { brokerPasswordFile, type BrokerConfig } from './config.js';
import { BrokerLogins, type Login } from './logins.js';

export { brokerConfigSchema, brokerPasswordFile, type BrokerConfig } from './config.js';
export { CENTRAL_MQTT_USER, CENTRAL_MQTT_USERS } from './acl.js';
export { mosquittoPasswordLine } from './password-file.js';

/** The logins of a password file as they stand (for their age): user, point, stored hash; the file's mtime. Null when there is no file. */
export function readPasswordLogins(file: string): { logins: { username: string; pointId: string | undefined; stored: string }[]; mtime: number } | null {
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(file, 'utf8');
    mtime = statSync(file).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const logins = [...parsePasswordFile(text).entries.values()].map((entry) => {
    const user = brokerUser(entry.username);
    return { username: entry.username, pointId: user?.kind === 'point' ? user.pointId : undefined, stored: entry.stored };
  });
  return { logins, mtime };
}

export interface EmbeddedBroker {
  port: number;
  /** The TLS listener's port, when `broker.tls` is set. */
  tlsPort: number | undefined;
  host: string;
  url: string;
  /** Central's own login (made at start, held only in memory). */
  centralLogin: { username: string; password: string };
  /**
   * Takes `username`'s line out of the password file and reads it again at once: the broker drops
   * the client that logged in with it and refuses it from then on. False when it had no line.
   */
  revokeLogin(username: string): boolean;
  close(): Promise<void>;
}

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError([`broker.tls.${key}: cannot read ${file} (${(error as Error).message})`]);
  }
}

/**
 * The embedded MQTT broker (aedes, in memory). Nothing durable lives here: the boxes keep every
 * unacked order in SQLite and send it again, so a central restart loses nothing.
 *
 * No anonymous clients: points log in with the password file's logins, central with its own
 * in-process one; each may use only its own client id and topics (install/mosquitto/hotpot.acl).
 */
export async function startEmbeddedBroker(config: { dataDir: string; broker: BrokerConfig }, log: Logger): Promise<EmbeddedBroker> {
  const { host, port, tls } = config.broker;
  const tlsOptions = tls && { cert: readPem(tls.cert, 'cert'), key: readPem(tls.key, 'key'), ...(tls.ca ? { ca: readPem(tls.ca, 'ca') } : {}) };
  const logins = new BrokerLogins(brokerPasswordFile(config), log);
  const clientLogins = new WeakMap<Client, Login>();
  const broker = await Aedes.createBroker({
    drainTimeout: 30_000,
    authenticate(client, username, password, done) {
      const refuse = (returnCode: number, message: string) => {
        log.warn({ client: client.id, username, reason: message }, 'broker refused a client');
        // aedes wipes a refused clean-session client's QoS 2 state by its id, which is someone else's.
        client.clean = false;
        done(refusal(returnCode, message), false);
      };
      if (username === undefined || password === undefined) return refuse(NOT_AUTHORIZED, 'no username and password');
      logins.check(username, password.toString('utf8')).then(
        (login) => {
          if (!login) return refuse(BAD_USERNAME_OR_PASSWORD, 'bad username or password');
          if (!clientIdAllowed(login.user, client.id)) return refuse(IDENTIFIER_REJECTED, `client id ${client.id} is not ${username}'s`);
          clientLogins.set(client, login);
          done(null, true);
        },
        (error: unknown) => refuse(NOT_AUTHORIZED, `the login could not be checked: ${(error as Error).message}`),
      );
    },
    authorizePublish(client, packet, done) {
      const login = client && clientLogins.get(client);
      if (login && mayPublish(login.user, packet.topic)) return done(null);
      log.warn({ client: client?.id, topic: packet.topic.slice(0, 200) }, 'broker refused a publish; disconnecting the client');
      done(new Error(`not authorized to publish to ${packet.topic}`));
    },
    authorizeSubscribe(client, subscription, done) {
      const login = clientLogins.get(client);
      if (login && maySubscribe(login.user, subscription.topic)) return done(null, subscription);
      log.warn({ client: client.id, filter: subscription.topic.slice(0, 200) }, 'broker refused a subscription');
      done(null, null);
    },
  });
  const connected = new Set<Client>();
  broker.on('client', (client) => connected.add(client));
  broker.on('clientDisconnect', (client) => connected.delete(client));
  // A changed or removed password ends the sessions it opened, as Mosquitto does on reload.
  logins.onChange((entries) => {
    for (const client of connected) {
      const login = clientLogins.get(client);
      if (!login || BrokerLogins.holds(login, entries)) continue;
      log.info({ client: client.id }, 'its broker password changed or was removed: disconnecting the client');
      client.close();
    }
  });
  logins.start();
  broker.on('clientError', (client, error) => log.debug({ client: client.id, err: error.message }, 'broker client error'));
  const servers: Server[] = [];
  const listen = async (server: Server, listenPort: number, what: string) => {
    servers.push(server);
    return listenOn(server, host, listenPort, what);
  };
  try {
    const bound = await listen(createServer(broker.handle), port, 'the embedded broker');
    let tlsPort: number | undefined;
    if (tls && tlsOptions) {
      const secure = createTlsServer(tlsOptions, broker.handle);
      secure.on('tlsClientError', (error) => log.debug({ err: error.message }, 'broker TLS handshake failed'));
      tlsPort = await listen(secure, tls.port, 'the embedded broker (TLS)');
    }
    const connectHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    log.info({ passwordFile: logins.file, logins: logins.size, tlsPort }, 'embedded broker: logins required');
    return {
      port: bound,
      tlsPort,
      host,
      url: `mqtt://${connectHost}:${bound}`,
      centralLogin: logins.central,
      revokeLogin(username) {
        const present = readPasswordLogins(logins.file)?.logins.some((login) => login.username === username) ?? false;
        if (present) updatePasswordFile(logins.file, [], [username]);
        logins.reloadIfChanged();
        log.warn({ username, passwordFile: logins.file }, 'broker login revoked');
        return present;
      },
      close: () => closeBroker(broker, servers, logins),
    };
  } catch (error) {
    await closeBroker(broker, servers, logins);
    throw error;
  }
}

function closeBroker(broker: Aedes, servers: Server[], logins: BrokerLogins): Promise<void> {
  logins.stop();
  return withTimeout(
    new Promise<void>((resolve) => {
      broker.close(() => {
        let open = servers.length;
        if (open === 0) resolve();
        for (const server of servers) server.close(() => --open === 0 && resolve());
      });
    }),
    5000,
    'the embedded broker to close',
  ).catch(() => undefined);
}
