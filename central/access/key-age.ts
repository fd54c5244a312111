import { createHash, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { duration } from '../../lib/duration.js';
import type { Logger } from '../../lib/log.js';
import { withTimeout } from '../../lib/timeout.js';
import type { Incidents } from '../incidents/store.js';
import { migrate } from '../migrations.js';
import { credentialIncident, credentialIncidentKey, firstSeen, judgeCredential, type Credential, type CredentialState, type KeyPolicy } from './credentials.js';
import type { TokenRecord } from './store.js';

/** `keys`: how old a credential may get, and what central cannot see for itself. */
export const keysConfigSchema = z.strictObject({
  /** Passwords, tokens and secrets older than this open an incident (the runbook: 90 days). */
  maxAge: duration('90d'),
  /** A certificate this close to its notAfter opens an incident. */
  certificateWarning: duration('30d'),
  /** How often central looks again. */
  checkEvery: duration('1h'),
  /** Certificates to watch besides the ones central's config names (the CA, points' client certificates): PEM files or folders of them. */
  certificates: z.array(z.string().min(1)).max(1000).default([]),
  /**
   * When a secret was last rotated, by its config key (`upstream.token`, `notify.channels.twilio.authToken`,
   * `notify.channels.email.auth.pass`, …): an ISO date. Without one a secret's age counts from when central
   * first saw its value.
   */
  rotatedAt: z.record(z.string().regex(/^[A-Za-z0-9.]{1,200}$/, 'a config key such as upstream.token'), z.iso.date().or(z.iso.datetime({ offset: true }))).default({}),
});
export type KeysConfig = z.output<typeof keysConfigSchema>;

/** What central's config holds that has an age: secrets by config key, certificate files by what they are. */
export interface CredentialSources {
  /** The embedded broker's logins (points' passwords) as they stand, when central embeds the broker; null without a file. */
  brokerLogins: (() => BrokerLogins | null) | undefined;
  secrets: { key: string; value: string }[];
  certificates: { name: string; file: string }[];
}

/** A password file's logins: user, point and stored hash, and the file's mtime. */
export interface BrokerLogins {
  logins: { username: string; pointId: string | undefined; stored: string }[];
  mtime: number;
}

/** Certificates and secrets named in central's config (what the product can see). */
export function credentialSources(config: {
  mqtt: { url?: string | undefined; password?: string | undefined; ca?: string | undefined; cert?: string | undefined };
  http: { metricsToken?: string | undefined };
  broker: { tls?: { cert: string; ca?: string | undefined } | undefined };
  upstream: { token?: string | undefined };
  notify: { signingSecret?: string | undefined; channels: { twilio?: { authToken: string } | undefined; email?: { auth?: { pass: string } | undefined; ca?: string | undefined } | undefined } };
  keys: KeysConfig;
}, brokerLogins: () => BrokerLogins | null): CredentialSources {
  const secrets = Object.entries({
    'upstream.token': config.upstream.token,
    'notify.channels.twilio.authToken': config.notify.channels.twilio?.authToken,
    'notify.channels.email.auth.pass': config.notify.channels.email?.auth?.pass,
    'notify.signingSecret': config.notify.signingSecret,
    'mqtt.password': config.mqtt.password,
    'http.metricsToken': config.http.metricsToken,
  }).flatMap(([key, value]) => (value ? [{ key, value }] : []));
  const named = Object.entries({
    'broker.tls.cert': config.broker.tls?.cert,
    'broker.tls.ca': config.broker.tls?.ca,
    'mqtt.ca': config.mqtt.ca,
    'mqtt.cert': config.mqtt.cert,
    'notify.channels.email.ca': config.notify.channels.email?.ca,
  }).flatMap(([name, file]) => (file ? [{ name, file }] : []));
  return {
    brokerLogins: config.mqtt.url ? undefined : brokerLogins,
    secrets,
    certificates: [...named, ...config.keys.certificates.flatMap(pemFilesIn).map((file) => ({ name: file, file }))],
  };
}

/** A PEM file, or the .crt/.pem files of a folder (one level). */
function pemFilesIn(path: string): string[] {
  try {
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path)
      .filter((name) => /\.(crt|pem)$/.test(name))
      .sort()
      .map((name) => join(path, name));
  } catch {
    return [path];
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file (a bundle may hold a chain). */
export function readCertificates(file: string): X509Certificate[] {
  return (readFileSync(file, 'utf8').match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem));
}

export const KEY_AGE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE credential_seen (
     id TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     set_at INTEGER NOT NULL
   );`,
];

export interface KeyAgeOptions {
  db: Database.Database;
  clock: Clock;
  log: Logger;
  incidents: Incidents;
  registry: Registry;
  config: KeysConfig;
  sources: CredentialSources;
  /** API tokens, with the time each was made. */
  tokens(): Promise<TokenRecord[]>;
}

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Watches every credential's age and expiry: opens `credential:<id>` incidents when one is due
 * (rotation at `keys.maxAge`, renewal `keys.certificateWarning` before a certificate's notAfter) and
 * clears them once it is rotated; `GET /api/credentials` and `hotpot_credential_*` gauges show them.
 * A credential known only by its value (a point's broker password, a secret from the config) is
 * remembered by a fingerprint (sha256 of the stored hash or value) and the time central first saw it.
 */
export class KeyAge {
  private states: CredentialState[] = [];
  private problems: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly policy: KeyPolicy;

  constructor(private readonly o: KeyAgeOptions) {
    migrate(o.db, 'keys', KEY_AGE_MIGRATIONS, o.clock.now());
    this.policy = { maxAgeMs: o.config.maxAge, certificateWarningMs: o.config.certificateWarning };
    const registers = [o.registry];
    const states = () => this.states;
    const now = () => o.clock.now();
    // Registered first, so collected first: it fills the other two.
    new Gauge({
      name: 'hotpot_credential_age_seconds',
      help: 'Seconds since a credential was set or last rotated',
      labelNames: ['credential', 'kind'] as const,
      registers,
      collect() {
        for (const gauge of [this, expires, due]) gauge.reset();
        for (const state of states()) {
          const labels = { credential: state.id, kind: state.kind };
          this.set(labels, Math.max(0, (now() - state.setAt) / 1000));
          due.set(labels, state.status === 'ok' ? 0 : 1);
          if (state.expiresAt !== undefined) expires.set(labels, (state.expiresAt - now()) / 1000);
        }
      },
    });
    const expires = new Gauge({ name: 'hotpot_credential_expires_seconds', help: 'Seconds until a certificate expires (negative: expired)', labelNames: ['credential', 'kind'] as const, registers });
    const due = new Gauge({ name: 'hotpot_credential_due', help: '1 when a credential is due for rotation or renewal', labelNames: ['credential', 'kind'] as const, registers });
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.check(), this.o.config.checkEvery);
    this.timer.unref();
    return this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The last check's view: every credential with its age, status and due time, plus what could not be read. */
  view(): { checkedAt: number | null; maxAgeMs: number; certificateWarningMs: number; credentials: CredentialState[]; problems: string[] } {
    return { checkedAt: this.checkedAt, maxAgeMs: this.policy.maxAgeMs, certificateWarningMs: this.policy.certificateWarningMs, credentials: this.states, problems: this.problems };
  }

  private checkedAt: number | null = null;

  /** Looks at every credential again and opens or clears incidents (one check at a time). */
  check(): Promise<void> {
    this.running ??= this.checkNow()
      .catch((error: unknown) => this.o.log.error({ err: (error as Error).message }, 'the key-age check failed; it runs again at the next interval'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkNow(): Promise<void> {
    const now = this.o.clock.now();
    const problems: string[] = [];
    const credentials = [...this.passwords(now, problems), ...this.secrets(now), ...this.certificates(problems), ...(await this.tokens())];
    const states = credentials.map((credential) => judgeCredential(credential, now, this.policy));
    const wanted = new Set<string>();
    for (const state of states) {
      const incident = credentialIncident(state, now);
      if (!incident) continue;
      wanted.add(incident.key);
      this.o.incidents.raise(incident);
    }
    for (const incident of this.o.incidents.active()) {
      if (incident.key.startsWith(credentialIncidentKey('')) && !wanted.has(incident.key)) this.o.incidents.clear(incident.key, 'rotated, renewed or no longer used');
    }
    this.states = states;
    this.problems = problems;
    this.checkedAt = now;
    for (const problem of problems) this.o.log.warn({ problem }, 'a credential could not be read for its age');
  }

  /** Remembers a value's fingerprint; a new one is a rotation. */
  private seen(id: string, value: string, now: number, earliest?: number): number {
    const row = this.o.db.prepare<[string], { fingerprint: string; setAt: number }>('SELECT fingerprint, set_at AS setAt FROM credential_seen WHERE id = ?').get(id);
    const print = fingerprint(value);
    const setAt = firstSeen(row, print, now, earliest);
    if (!row || row.fingerprint !== print) {
      this.o.db.prepare('INSERT INTO credential_seen (id, fingerprint, set_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET fingerprint = excluded.fingerprint, set_at = excluded.set_at').run(id, print, setAt);
    }
    return setAt;
  }

  private passwords(now: number, problems: string[]): Credential[] {
    let file: BrokerLogins | null;
    try {
      file = this.o.sources.brokerLogins?.() ?? null;
    } catch (error) {
      problems.push(`the broker password file: ${(error as Error).message}`);
      return [];
    }
    if (!file) return [];
    const { logins, mtime } = file;
    return logins.map(({ username, pointId, stored }) => {
      const id = `broker-password:${username}`;
      return { id, kind: 'broker-password', name: username, ...(pointId ? { pointId } : {}), setAt: this.seen(id, stored, now, mtime), source: 'first-seen' } satisfies Credential;
    });
  }

  private secrets(now: number): Credential[] {
    return this.o.sources.secrets.map(({ key, value }) => {
      const id = `secret:${key}`;
      const declared = this.o.config.rotatedAt[key];
      // Seen either way, so dropping the declaration later does not restart the count.
      const seenAt = this.seen(id, value, now);
      return declared ? { id, kind: 'secret', name: key, setAt: Date.parse(declared), source: 'declared' } : { id, kind: 'secret', name: key, setAt: seenAt, source: 'first-seen' };
    });
  }

  private certificates(problems: string[]): Credential[] {
    return this.o.sources.certificates.flatMap(({ name, file }) => {
      try {
        return readCertificates(file).map(
          (cert, index): Credential => ({
            id: `certificate:${file}#${index}`,
            kind: 'certificate',
            name: `${name} (${cert.subject.replace(/\n/g, ', ')})`,
            setAt: Date.parse(cert.validFrom),
            expiresAt: Date.parse(cert.validTo),
            source: 'certificate',
          }),
        );
      } catch (error) {
        problems.push(`${name}: cannot read ${file} as PEM certificates (${(error as Error).message})`);
        return [];
      }
    });
  }

  private async tokens(): Promise<Credential[]> {
    return (await withTimeout(this.o.tokens(), 10_000, 'the API tokens for their age')).map((token) => ({ id: `api-token:${token.name}`, kind: 'api-token', name: token.name, setAt: token.createdAt, source: 'recorded' }));
  }
}
