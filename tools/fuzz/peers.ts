import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { freePort } from '../../lib/net.js';
import { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { centralPlugins } from '../../central/plugins.js';
import { brokerPasswordFile, CENTRAL_MQTT_USER } from '../../central/broker/index.js';
import { generatePassword, writeLogins } from '../provision/index.js';

/** A central (embedded broker, SQLite) and one agent on it, in this process, for a fuzz campaign. */
export interface FuzzPeers {
  central: Central;
  agent: Agent;
  pointId: string;
  token: string;
  brokerUrl: string;
  centralLogin: { username: string; password: string };
  stop(): Promise<void>;
}

export async function startPeers(dir: string, pointId = 'fuzz-01'): Promise<FuzzPeers> {
  const brokerPort = await freePort();
  const centralDir = join(dir, 'central');
  const passwordFile = brokerPasswordFile({ dataDir: centralDir, broker: {} });
  const centralLogin = { username: CENTRAL_MQTT_USER, password: generatePassword() };
  const agentLogin = { username: pointId, password: generatePassword() };
  writeLogins(passwordFile, [centralLogin, agentLogin]);
  const central = new Central(loadCentralConfig(undefined, {}, { dataDir: centralDir, http: { port: 0 }, broker: { host: '127.0.0.1', port: brokerPort }, mqtt: { keepalive: 5 } }), {
    log: silentLogger(),
    plugins: centralPlugins(),
  });
  await central.start();
  const token = await central.access.createToken('fuzz', 'admin');
  const agent = new Agent(
    loadAgentConfig(undefined, {}, {
      pointId,
      dataDir: join(dir, pointId),
      menuFile: sampleMenuFile(),
      http: { port: 0 },
      mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, keepalive: 5, ackTimeoutMs: 3000, ...agentLogin },
    }),
    { log: silentLogger() },
  );
  await agent.start();
  return {
    central,
    agent,
    pointId,
    token,
    brokerUrl: `mqtt://127.0.0.1:${brokerPort}`,
    centralLogin,
    stop: async () => {
      await agent.stop();
      await central.stop();
    },
  };
}
