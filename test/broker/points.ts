import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { agentConfigSchema, loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { agentClientId } from '../../sync/mqtt.js';
import { provisionPoint } from '../../tools/provision/index.js';
import { tempDir } from '../helpers/hotpot.js';
import { connect } from '../install/fixtures.js';

export interface ProvisionedPoint {
  pointId: string;
  /** agent.json as provision-point wrote it. */
  agentJson: string;
  config: AgentConfig;
  /** mqtt.js options to log in as this point, with its own client id. */
  login: IClientOptions & { username: string; password: string; clientId: string };
}

/** A point provisioned by the real tool into the broker's password file (replacing an earlier login with `rotate`). */
export async function provision(pointId: string, options: { brokerUrl: string; passwordFile: string; caDir?: string; rotate?: boolean; outDir?: string }): Promise<ProvisionedPoint> {
  const outDir = options.outDir ?? join(tempDir('points'), pointId);
  const point = await provisionPoint({ pointId, outDir, brokerUrl: options.brokerUrl, passwordFile: options.passwordFile, caDir: options.caDir, rotate: options.rotate ?? false });
  const config = agentConfigSchema.parse(JSON.parse(readFileSync(point.files.agentConfig, 'utf8')));
  return {
    pointId,
    agentJson: point.files.agentConfig,
    config,
    login: { username: config.mqtt.username!, password: config.mqtt.password!, clientId: agentClientId(pointId) },
  };
}

/** The provisioned agent.json as the box would load it; only what the test machine differs in comes from env. */
export function boxConfig(point: ProvisionedPoint, env: Record<string, string> = {}): AgentConfig {
  return loadAgentConfig(point.agentJson, { HOTPOT_DATA_DIR: tempDir(`box-${point.pointId}`), HOTPOT_HTTP_PORT: '0', HOTPOT_MENU_FILE: sampleMenuFile(), ...env });
}

/** Collects every message a client receives. */
export function collect(client: MqttClient): { topic: string; payload: string }[] {
  const seen: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  return seen;
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** Counts how often a client's connection closed. */
export function closes(client: MqttClient): { count: number } {
  const counter = { count: 0 };
  client.on('close', () => counter.count++);
  return counter;
}

export { connect };
