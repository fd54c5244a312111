import { z } from 'zod';
import { loadConfig } from '../lib/config.js';

export const centralConfigSchema = z.object({
  dataDir: z.string().min(1).default('./data/central'),
  http: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  /** The embedded broker (aedes), used when `mqtt.url` is absent. */
  broker: z
    .object({
      host: z.string().min(1).default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(1883),
    })
    .prefault({}),
  /** Join an external broker (Mosquitto, EMQX, HiveMQ) instead of embedding one. */
  mqtt: z
    .object({
      url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'must be an mqtt:// or mqtts:// URL').optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      ca: z.string().min(1).optional(),
      keepalive: z.number().int().min(1).max(3600).default(10),
      /** MQTT client id; replicas need distinct ones. */
      clientId: z.string().min(1).max(64).default('hotpot-central'),
      /** Subscribe through `$share/<group>/...` so replicas split ingest (MQTT 5 brokers only). */
      sharedGroup: z.string().regex(/^[a-z0-9-]+$/).optional(),
    })
    .prefault({}),
  /** PostgreSQL instead of SQLite, when scaling out. */
  database: z.object({ url: z.string().regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL').optional() }).prefault({}),
  fleet: z
    .object({
      /** A point silent this long is stale even if its retained status says online. */
      staleAfterMs: z.number().int().min(1000).default(90_000),
    })
    .prefault({}),
});

export type CentralConfig = z.output<typeof centralConfigSchema>;

export function loadCentralConfig(file?: string, env: NodeJS.ProcessEnv = process.env, base?: Record<string, unknown>): CentralConfig {
  return loadConfig(centralConfigSchema, { file, env, ...(base ? { base } : {}) });
}
