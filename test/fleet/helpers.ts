import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { centralPlugins } from '../../central/plugins.js';
import { signInSuite } from '../helpers/auth.js';
import type { PointView } from '../../central/fleet.js';
import type { CheckState, HealthMessage } from '../../sync/schemas.js';
import { topicOf } from '../../sync/protocol.js';
import { centralUserLogin, type BrokerTarget } from '../helpers/logins.js';

/** A real Central with every module: embedded aedes on a free port (or joining `mqttUrl`), HTTP on a free port. */
export async function startFleetCentral(
  dataDir: string,
  options: { clock?: Clock; mqttUrl?: string; extra?: Record<string, unknown> } = {},
): Promise<Central> {
  const config = loadCentralConfig(undefined, {}, {
    dataDir: join(dataDir, 'central'),
    http: { port: 0 },
    // Port 0: the broker binds a free port itself (no window between picking a port and binding it).
    broker: { host: '127.0.0.1', port: 0 },
    mqtt: { ...(options.mqttUrl ? { url: options.mqttUrl } : {}), keepalive: 5, clientId: `central-${Date.now()}-${Math.round(Math.random() * 1e6)}` },
    ...options.extra,
  });
  const central = new Central(config, { log: silentLogger(), ...(options.clock ? { clock: options.clock } : {}), plugins: centralPlugins() });
  await central.start();
  await signInSuite(central);
  return central;
}

const up = (since: number): CheckState => ({ status: 'up', detail: 'fine', since });

/** A health message as an agent sends it, with every check up unless overridden. */
export function healthFor(
  pointId: string,
  ts: number,
  overrides: Partial<Omit<HealthMessage, 'checks'>> & { checks?: Partial<HealthMessage['checks']> } = {},
): HealthMessage {
  const { checks, ...rest } = overrides;
  return {
    pointId,
    mode: 'online',
    checks: { internet: up(ts), printer: up(ts), camera: up(ts), system: up(ts), ...checks },
    unsynced: 0,
    oldestUnsyncedAt: null,
    version: '0.1.0-test',
    ts,
    ...rest,
  };
}

/** Publishes as points would (status with session, health), by hand, over a real MQTT connection. */
export class HandPublisher {
  private constructor(readonly client: MqttClient) {}

  static async connect(broker: BrokerTarget): Promise<HandPublisher> {
    return new HandPublisher(await mqtt.connectAsync(broker.url, { clientId: `hand-${Date.now()}-${Math.round(Math.random() * 1e6)}`, reconnectPeriod: 0, ...centralUserLogin(broker) }));
  }

  async status(pointId: string, online: boolean, session: number, ts: number): Promise<void> {
    await this.client.publishAsync(topicOf('pointStatus', { pointId: pointId }), JSON.stringify({ online, ts, version: '0.1.0-test', session }), { qos: 1, retain: true });
  }

  async health(message: HealthMessage): Promise<void> {
    await this.client.publishAsync(topicOf('pointHealth', { pointId: message.pointId }), JSON.stringify(message), { qos: 1, retain: true });
  }

  async raw(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/**
 * Resolves when central has read the next health message of `pointId`. Arm it before publishing:
 * polling the view cannot tell this message from the one before it.
 */
export function nextHealthRead(central: Central, pointId: string, timeoutMs = 10_000): Promise<void> {
  const owner = {};
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      central.bus.removeListeners(owner);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for central to read a health message of ${pointId}`));
    }, timeoutMs);
    central.bus.onPointChanged(owner, ({ pointId: changed, cause }) => {
      if (changed !== pointId || cause !== 'health') return;
      clearTimeout(timer);
      central.bus.removeListeners(owner);
      resolve();
    });
  });
}

export function viewOf(central: Central, pointId: string): PointView | null {
  return central.fleet.view(pointId, central.now());
}
