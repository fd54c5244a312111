import { join } from 'node:path';
import { sampleMenuFile } from '../../lib/paths.js';
import { httpJson, type HotpotProcess } from './hotpot.js';

/** Env for one central replica: external broker, shared subscription group `central`, PostgreSQL. */
export function replicaEnv(name: string, dir: string, mqttUrl: string, databaseUrl: string): Record<string, string> {
  return {
    HOTPOT_DATA_DIR: join(dir, name),
    HOTPOT_HTTP_PORT: '0',
    HOTPOT_MQTT_URL: mqttUrl,
    HOTPOT_MQTT_SHARED_GROUP: 'central',
    HOTPOT_MQTT_CLIENT_ID: `hotpot-${name}`,
    HOTPOT_MQTT_KEEPALIVE: '2',
    HOTPOT_DATABASE_URL: databaseUrl,
  };
}

/** Env for a child agent; small batches and a short ack timeout keep orders in flight while faults land. */
export function pointEnv(pointId: string, dir: string, mqttUrl: string): Record<string, string> {
  return {
    HOTPOT_POINT_ID: pointId,
    HOTPOT_DATA_DIR: join(dir, pointId),
    HOTPOT_MQTT_URL: mqttUrl,
    HOTPOT_MQTT_KEEPALIVE: '2',
    HOTPOT_MQTT_BATCH_SIZE: '10',
    HOTPOT_MQTT_WINDOW: '50',
    HOTPOT_MQTT_ACK_TIMEOUT_MS: '2000',
    HOTPOT_HTTP_PORT: '0',
    HOTPOT_MENU_FILE: sampleMenuFile(),
  };
}

export interface CentralHealth {
  status: string;
  store: string;
  leader: boolean;
}

/** A replica's own health, or null while it does not answer (killed, restarting). */
export async function replicaHealth(replica: HotpotProcess): Promise<CentralHealth | null> {
  try {
    const res = await httpJson<CentralHealth>(replica.httpPort, 'GET', '/api/health');
    return res.status === 200 ? res.body : null;
  } catch {
    return null;
  }
}

/** The replicas that say they lead right now. */
export async function leaders(replicas: readonly HotpotProcess[]): Promise<HotpotProcess[]> {
  const health = await Promise.all(replicas.map((replica) => replicaHealth(replica)));
  return replicas.filter((_, i) => health[i]?.leader === true);
}

export interface OrderStatsBody {
  total: number;
  byPoint: Record<string, number>;
  /** Voids in effect (absent on centrals that predate voids). */
  voids?: number;
}

/** Every order id central holds, paged through `GET /api/orders?after=`. */
export async function centralOrderIds(port: number, pageSize = 5000): Promise<string[]> {
  const all: string[] = [];
  let after = '';
  for (;;) {
    const res = await httpJson<{ id: string }[]>(port, 'GET', `/api/orders?limit=${pageSize}${after ? `&after=${after}` : ''}`);
    if (res.status !== 200) throw new Error(`GET /api/orders answered ${res.status}`);
    all.push(...res.body.map((order) => order.id));
    if (res.body.length < pageSize) return all;
    after = res.body[res.body.length - 1]!.id;
  }
}
