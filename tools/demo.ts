import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, type Logger } from '../lib/log.js';
import { untilSignal, type Command } from '../lib/cli.js';
import { preferredOrFreePort } from '../lib/net.js';
import { sampleMenuFile } from '../lib/paths.js';
import { httpRequest } from '../lib/http-client.js';
import { sleep } from '../lib/timeout.js';
import { Agent } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { loadMenuFile } from '../agent/menu.js';
import { Central } from '../central/central.js';
import { loadCentralConfig } from '../central/config.js';
import { centralPlugins } from '../central/plugins.js';
import { randomSecret } from '../central/access/secrets.js';
import { brokerPasswordFile } from '../central/broker/index.js';
import { generatePassword, writeLogins } from './provision/index.js';

const DEMO_POINTS = ['tbilisi-01', 'batumi-01', 'kutaisi-01'];

/** Posts one JSON body to a local agent, as the staff page would; resolves with the status. */
async function postJson(port: number, path: string, body: unknown): Promise<number> {
  return (await httpRequest({ method: 'POST', url: `http://127.0.0.1:${port}${path}`, body, timeoutMs: 5000 })).status;
}

/** A cashier who rings up a random order every few seconds. */
async function cashier(agent: Agent, skus: string[], log: Logger, stop: { stopped: boolean }): Promise<void> {
  while (!stop.stopped) {
    await sleep(1500 + Math.random() * 3000);
    if (stop.stopped) return;
    const items = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({
      sku: skus[Math.floor(Math.random() * skus.length)]!,
      qty: 1 + Math.floor(Math.random() * 4),
    }));
    const status = await postJson(agent.httpPort!, '/api/orders', { items, payment: Math.random() < 0.5 ? 'cash' : 'card' }).catch(
      (error: unknown) => {
        log.warn({ err: (error as Error).message }, 'demo order failed');
        return 0;
      },
    );
    if (status !== 201) log.warn({ status, pointId: agent.config.pointId }, 'demo order not saved');
  }
}

/** The operator the demo signs ops in as. */
const DEMO_USER = 'demo';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'central plus three simulated points, all in one process tree',
  usage: [
    'usage: hotpot demo [--data DIR] [--duration SECONDS]',
    '',
    'Starts central (embedded broker, preferring port 1883; a free one when it is taken) and three',
    'points (tbilisi-01, batumi-01, kutaisi-01) on emulated hardware, with a cashier ringing up',
    'orders on each. Prints the dashboard and staff-page URLs. Stops on Ctrl-C or after --duration.',
    "Each point logs in to the broker with its own login, written to DIR/central/broker.passwd.",
  ].join('\n'),
  options: { data: { type: 'string' }, duration: { type: 'string' } },
  async run(values) {
    const dataDir = resolve((values.data as string | undefined) ?? './data/demo');
    mkdirSync(dataDir, { recursive: true });
    const log = createLogger({ name: 'demo', level: process.env.HOTPOT_LOG_LEVEL ?? 'warn' });
    const brokerPort = await preferredOrFreePort('127.0.0.1', 1883);
    const httpPort = await preferredOrFreePort('127.0.0.1', 8080);
    if (brokerPort !== 1883) process.stdout.write(`port 1883 is taken: the demo's embedded broker uses ${brokerPort} instead\n`);
    const centralConfig = loadCentralConfig(undefined, {}, {
      dataDir: join(dataDir, 'central'),
      http: { port: httpPort },
      broker: { host: '127.0.0.1', port: brokerPort },
    });
    // The embedded broker lets no one in anonymously: each point gets its login, as provision-point gives it.
    const logins = DEMO_POINTS.map((pointId) => ({ username: pointId, password: generatePassword() }));
    writeLogins(brokerPasswordFile(centralConfig), logins);
    const central = new Central(centralConfig, { log: log.child({ part: 'central' }), plugins: centralPlugins() });
    // Ops sign in: the demo's operator gets a fresh password each run (printed below).
    const password = randomSecret(12);
    await central.access.addUser(DEMO_USER, 'operator', password).catch(() => central.access.setPassword(DEMO_USER, password));
    await central.start();
    const menuFile = sampleMenuFile();
    const skus = loadMenuFile(menuFile).items.map((item) => item.sku);
    const agents: Agent[] = [];
    for (const [i, { username: pointId, password: brokerPassword }] of logins.entries()) {
      const port = await preferredOrFreePort('127.0.0.1', 8088 + i);
      const config = loadAgentConfig(undefined, {}, {
        pointId,
        dataDir: join(dataDir, pointId),
        menuFile,
        mqtt: { url: central.brokerUrl, password: brokerPassword },
        http: { port },
      });
      const agent = new Agent(config, { log: log.child({ part: 'agent', pointId }) });
      await agent.start();
      agents.push(agent);
    }
    process.stdout.write(
      [
        '',
        'hotpot demo is running',
        `  dashboard:    http://127.0.0.1:${central.httpPort}/`,
        `  login: ${DEMO_USER} / ${password}`,
        `  fleet API:    http://127.0.0.1:${central.httpPort}/api/points`,
        `  MQTT broker:  ${central.brokerUrl}   (point logins in ${brokerPasswordFile(centralConfig)})`,
        ...agents.map((a) => `  staff page:   http://127.0.0.1:${a.httpPort}/   (${a.config.pointId})`),
        '  Ctrl-C stops it.',
        '',
      ].join('\n'),
    );
    const stop = { stopped: false };
    const cashiers = agents.map((agent) => cashier(agent, skus, log, stop));
    const duration = values.duration ? Number(values.duration) * 1000 : undefined;
    await (duration ? Promise.race([sleep(duration), untilSignal()]) : untilSignal());
    stop.stopped = true;
    await Promise.all(cashiers);
    for (const agent of agents) await agent.stop();
    const stats = central.store.orderStats();
    await central.stop();
    process.stdout.write(`demo stopped: central holds ${stats.total} orders (${JSON.stringify(stats.byPoint)})\n`);
    return 0;
  },
};
