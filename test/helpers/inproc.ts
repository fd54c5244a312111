import { join } from 'node:path';
import { silentLogger, type Logger } from '../../lib/log.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { centralPlugins } from '../../central/plugins.js';
import { signInSuite } from './auth.js';
import { agentMqtt, type BrokerTarget } from './logins.js';

/** A real Central in this process: embedded aedes on a free port, or joining `mqttUrl`. */
export async function startCentral(dataDir: string, options: { mqttUrl?: string; brokerPort?: number; extra?: Record<string, unknown>; log?: Logger } = {}): Promise<Central> {
  const config = loadCentralConfig(undefined, {}, {
    dataDir: join(dataDir, 'central'),
    http: { port: 0 },
    // Port 0 unless the test must restart on a known port: the broker binds a free port itself.
    broker: { host: '127.0.0.1', port: options.brokerPort ?? 0 },
    mqtt: { ...(options.mqttUrl ? { url: options.mqttUrl } : {}), keepalive: 5 },
    ...options.extra,
  });
  const central = new Central(config, { log: options.log ?? silentLogger(), plugins: centralPlugins() });
  await central.start();
  await signInSuite(central);
  return central;
}

/** A real Agent in this process, with the sample menu, its HTTP API on a free port and its broker login. */
export async function startAgent(dataDir: string, pointId: string, broker: string | BrokerTarget, extra: Record<string, unknown> = {}): Promise<Agent> {
  const { mqtt, ...rest } = extra as { mqtt?: Record<string, unknown> };
  const config = loadAgentConfig(undefined, {}, {
    pointId,
    dataDir: join(dataDir, pointId),
    menuFile: sampleMenuFile(),
    http: { port: 0 },
    mqtt: { keepalive: 5, ackTimeoutMs: 3000, ...mqtt, ...agentMqtt(broker, pointId) },
    ...rest,
  });
  const agent = new Agent(config, { log: silentLogger() });
  await agent.start();
  return agent;
}

/** An order body for the sample menu. */
export function sampleOrder(i: number) {
  return { items: [{ sku: 'khinkali-meat', qty: 1 + (i % 5) }, { name: 'Extra bread', unitPrice: 250, qty: 1 }], payment: i % 2 ? 'card' : 'cash' } as const;
}
