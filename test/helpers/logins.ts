import type { Central } from '../../central/central.js';
import { brokerPasswordFile, CENTRAL_MQTT_USER } from '../../central/broker/index.js';
import { generatePassword, writeLogins, type BrokerLogin } from '../../tools/provision/index.js';

/**
 * Where a test's clients connect: a URL and, for central's embedded broker (which refuses
 * anonymous clients), the password file its logins go in. The suite's own Mosquitto peers allow
 * anonymous clients and have no password file.
 */
export interface BrokerTarget {
  url: string;
  passwordFile?: string;
}

/** The broker a running central uses. */
export function brokerOf(central: Central): BrokerTarget {
  return central.config.mqtt.url ? { url: central.brokerUrl } : { url: central.brokerUrl, passwordFile: brokerPasswordFile(central.config) };
}

/** The embedded broker a central with this data dir will run on `port` (for clients set up before it starts). */
export function embeddedBrokerAt(centralDataDir: string, port: number): BrokerTarget {
  return { url: `mqtt://127.0.0.1:${port}`, passwordFile: brokerPasswordFile({ dataDir: centralDataDir, broker: {} }) };
}

const made = new Map<string, string>();

/** `username`'s login in the target's password file, written there once (as `hotpot provision-point --passwd-file` does). */
function loginIn(target: BrokerTarget, username: string): Partial<BrokerLogin> {
  if (!target.passwordFile) return {};
  const key = `${target.passwordFile}\0${username}`;
  let password = made.get(key);
  if (!password) {
    password = generatePassword();
    writeLogins(target.passwordFile, [{ username, password }]);
    made.set(key, password);
  }
  return { username, password };
}

/** The `mqtt` keys of point `pointId`'s agent config: the broker's URL and the point's login. */
export function agentMqtt(target: string | BrokerTarget, pointId: string): { url: string } & Partial<BrokerLogin> {
  const broker = typeof target === 'string' ? { url: target } : target;
  return { url: broker.url, ...loginIn(broker, pointId) };
}

/** The same as `HOTPOT_MQTT_*` variables, for a `hotpot agent` child process. */
export function agentMqttEnv(target: string | BrokerTarget, pointId: string): Record<string, string> {
  const { url, username, password } = agentMqtt(target, pointId);
  return { HOTPOT_MQTT_URL: url, ...(username && password ? { HOTPOT_MQTT_USERNAME: username, HOTPOT_MQTT_PASSWORD: password } : {}) };
}

/**
 * mqtt.js options for a test's own client that acts for central: it watches every point, or
 * publishes what any point might. On an embedded broker it logs in as central's user (with any
 * client id but a point's).
 */
export function centralUserLogin(target: string | BrokerTarget): Partial<BrokerLogin> {
  return typeof target === 'string' ? {} : loginIn(target, CENTRAL_MQTT_USER);
}
