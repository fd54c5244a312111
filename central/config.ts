import { z } from 'zod';
import { loadConfig } from '../lib/config.js';
import { freeToBind, readableFile, throwProblems, writableDir } from '../lib/preflight.js';
import { DEFAULT_TIME_ZONE, isTimeZone } from '../sync/day-summary.js';
import { addressList } from './access/gate.js';
import { GroupName } from './fleet.js';
import { ROLES } from './plugin.js';
import { duration } from '../lib/duration.js';
import { MAX_PEM_BYTES, MqttLogin, MqttUrl, mqttTlsFields, requireCertWithKey } from '../sync/mqtt.js';
import { brokerConfigSchema } from './broker/config.js';
import { keysConfigSchema } from './access/key-age.js';
import { upstreamConfigSchema } from './upstream/config.js';
import { alertsConfigSchema } from './alerts/config.js';
import { activityConfigSchema } from './activity/config.js';
import { recoveryConfigSchema } from './recovery/config.js';
import { backupsConfigSchema, MOVED_BACKUP_KEYS } from './backups/config.js';
import { historyConfigSchema } from './history/config.js';
import { notifyConfigSchema } from './notify/config.js';
import { statusConfigSchema } from './status/config.js';

export const centralConfigSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data/central'),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Host names central answers to besides localhost, 127.0.0.1, ::1, its bound address and notify.publicUrl's host (DNS rebinding guard). */
      allowedHosts: z.array(z.string().min(1).max(253).regex(/^[A-Za-z0-9.:-]+$/, 'a host name or address, without port')).default([]),
      /** When set, `GET /metrics` needs `Authorization: Bearer <it>`. */
      metricsToken: z.string().min(16, 'use at least 16 characters').optional(),
      /** Trust a fronting SSO proxy's user (and role) headers, only from these addresses. */
      authProxy: z
        .strictObject({
          userHeader: z.string().min(1).max(100),
          roleHeader: z.string().min(1).max(100).optional(),
          defaultRole: z.enum(ROLES).default('viewer'),
          trustedProxies: z.array(z.string().refine(isCidr, 'an address or CIDR such as 10.0.0.0/8')).min(1),
        })
        .optional(),
      /** How long a login lasts. */
      sessionTtl: duration('12h'),
    })
    .prefault({}),
  /** The embedded broker (aedes), used when `mqtt.url` is absent. */
  broker: brokerConfigSchema.prefault({}),
  /** Join an external broker (Mosquitto, EMQX, HiveMQ) instead of embedding one. */
  mqtt: z
    .strictObject({
      url: MqttUrl.optional(),
      username: MqttLogin.optional(),
      password: MqttLogin.optional(),
      ...mqttTlsFields,
      keepalive: z.number().int().min(1).max(3600).default(10),
      /** MQTT client id; replicas need distinct ones. */
      clientId: z.string().min(1).max(64).default('hotpot-central'),
      /** Subscribe through `$share/<group>/...` so replicas split ingest (MQTT 5 brokers only). */
      sharedGroup: z.string().regex(/^[a-z0-9-]+$/).optional(),
    })
    .superRefine(requireCertWithKey)
    .prefault({}),
  /** PostgreSQL instead of SQLite, when scaling out. */
  database: z
    .strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL').optional(),
      /** Connections each replica's order store may hold. */
      poolMax: z.number().int().min(1).max(100).default(5),
      /** How often a follower replica tries the leader lock (takeover ≤ this after the leader's session ends). */
      leaderPollMs: z.number().int().min(100).max(10_000).default(2000),
    })
    .prefault({}),
  fleet: z
    .strictObject({
      /** A point silent this long is stale even if its retained status says online. */
      staleAfterMs: z.number().int().min(1000).default(90_000),
      /** Group (city) → point ids or `prefix*` patterns; unlisted points go by their id's first dash-separated part. */
      groups: z.record(GroupName, z.array(z.string().regex(/^[a-z0-9-]{1,64}\*?$/)).max(10_000)).default({}),
    })
    .prefault({}),
  /** IANA time zone every page and message shows times in (and backup schedules run in). */
  /** Key age: when passwords, tokens and secrets are due for rotation and certificates for renewal. */
  keys: keysConfigSchema.prefault({}),
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Tbilisi').default(DEFAULT_TIME_ZONE),
  // Plugins' settings: each key is the plugin's name (central/plugins.ts).
  history: historyConfigSchema.prefault({}),
  alerts: alertsConfigSchema.prefault({}),
  recovery: recoveryConfigSchema.prefault({}),
  backups: backupsConfigSchema.prefault({}),
  notify: notifyConfigSchema,
  /** Forwarding committed orders to the main server (off while `upstream.url` is absent). */
  upstream: upstreamConfigSchema,
  /** The public status page (`/status`, `/status.json`). */
  status: statusConfigSchema.prefault({}),
  /** Orders per point per hour; usually busy points gone quiet (`activity:<point>:silent`). */
  activity: activityConfigSchema.prefault({}),
}).superRefine((config, ctx) => {
  if (config.mqtt.sharedGroup && !config.mqtt.url) {
    ctx.addIssue({ code: 'custom', path: ['mqtt', 'sharedGroup'], message: 'needs mqtt.url (an external MQTT 5 broker): the embedded broker has no shared subscriptions, so ingest would never start' });
  }
});

export type CentralConfig = z.output<typeof centralConfigSchema>;

/** Keys 0.1 had that live elsewhere now: a config that still uses one is told where. */
const MOVED_KEYS = { 'fleet.history': 'history', ...MOVED_BACKUP_KEYS };

/** What the config names on this machine: files, the data dir, the ports central binds. Throws ConfigError. */
export async function preflightCentral(config: CentralConfig): Promise<void> {
  const { mqtt, broker, http } = config;
  throwProblems([
    ...(config.database.url ? [] : [writableDir('dataDir', config.dataDir)]),
    readableFile('mqtt.ca', mqtt.ca, MAX_PEM_BYTES),
    readableFile('mqtt.cert', mqtt.cert, MAX_PEM_BYTES),
    readableFile('mqtt.key', mqtt.key, MAX_PEM_BYTES),
    ...(mqtt.url
      ? []
      : [
          readableFile('broker.tls.cert', broker.tls?.cert, MAX_PEM_BYTES),
          readableFile('broker.tls.key', broker.tls?.key, MAX_PEM_BYTES),
          readableFile('broker.tls.ca', broker.tls?.ca, MAX_PEM_BYTES),
          await freeToBind('broker.port', broker.host, broker.port),
          ...(broker.tls ? [await freeToBind('broker.tls.port', broker.host, broker.tls.port)] : []),
        ]),
    await freeToBind('http.port', http.host, http.port),
  ]);
}

export function loadCentralConfig(file?: string, env: NodeJS.ProcessEnv = process.env, base?: Record<string, unknown>): CentralConfig {
  return loadConfig(centralConfigSchema, { file, env, moved: MOVED_KEYS, ...(base ? { base } : {}) });
}

function isCidr(value: string): boolean {
  try {
    addressList([value]);
    return true;
  } catch {
    return false;
  }
}
