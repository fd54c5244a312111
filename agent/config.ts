import { z } from 'zod';
import { loadConfig } from '../lib/config.js';
import { Currency, PointId } from '../sync/schemas.js';

const InternetTarget = z
  .string()
  .regex(/^(tcp:\/\/[^/:]+:\d{1,5}|https?:\/\/.+)$/, 'must be tcp://host:port or an http(s):// URL');

export const agentConfigSchema = z.object({
  pointId: PointId,
  dataDir: z.string().min(1).default('./data/agent'),
  mqtt: z
    .object({
      url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL').default('mqtt://127.0.0.1:1883'),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      ca: z.string().min(1).optional(),
      keepalive: z.number().int().min(1).max(3600).default(10),
      /** An order unacked this long is sent again even if the connection never dropped. */
      ackTimeoutMs: z.number().int().min(100).default(10_000),
      batchSize: z.number().int().min(1).max(1000).default(200),
      /** Orders in flight (sent, unacked) at most. */
      window: z.number().int().min(1).max(100_000).default(5000),
    })
    .prefault({}),
  http: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8088),
    })
    .prefault({}),
  currency: Currency.default('GEL'),
  checks: z
    .object({
      internet: z.object({ targets: z.array(InternetTarget).default([]) }).prefault({}),
      printer: z
        .object({
          interface: z
            .string()
            .regex(/^(none|tcp:\/\/[^/:]+:\d{1,5}|\/dev\/.+)$/, 'must be tcp://host:port, a serial path such as /dev/ttyUSB0, or none')
            .default('none'),
        })
        .prefault({}),
      camera: z
        .object({
          device: z
            .string()
            .regex(/^(none|\/dev\/video\d+|file:.+|TEST|https?:\/\/.+)$/, 'must be /dev/videoN, file:/path.jpg, TEST, an http(s):// snapshot URL, or none')
            .default('none'),
        })
        .prefault({}),
    })
    .prefault({}),
  menuFile: z.string().min(1).optional(),
  language: z.enum(['ru', 'en', 'ka']).default('en'),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

export function loadAgentConfig(file?: string, env: NodeJS.ProcessEnv = process.env, base?: Record<string, unknown>): AgentConfig {
  return loadConfig(agentConfigSchema, { file, env, ...(base ? { base } : {}) });
}
