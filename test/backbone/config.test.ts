import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName } from '../../lib/config.js';
import { loadAgentConfig } from '../../agent/config.js';
import { loadCentralConfig } from '../../central/config.js';
import { startChild } from '../peers/process.js';
import { HOTPOT_BIN } from '../helpers/hotpot.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('derives env names from key paths', () => {
    expect(envName(['mqtt', 'url'])).toBe('HOTPOT_MQTT_URL');
    expect(envName(['pointId'])).toBe('HOTPOT_POINT_ID');
    expect(envName(['checks', 'internet', 'targets'])).toBe('HOTPOT_CHECKS_INTERNET_TARGETS');
  });

  it('fills defaults and lets env override the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotpot-config-'));
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ pointId: 'tbilisi-01', mqtt: { url: 'mqtt://10.0.0.1:1883' } }));
    const config = loadAgentConfig(file, { HOTPOT_MQTT_URL: 'mqtt://127.0.0.1:1999', HOTPOT_HTTP_PORT: '9000', HOTPOT_CHECKS_INTERNET_TARGETS: 'tcp://127.0.0.1:1,https://example.test/' });
    expect(config.mqtt.url).toBe('mqtt://127.0.0.1:1999');
    expect(config.mqtt.keepalive).toBe(10);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 9000, tlsPort: 8443 });
    expect(config.currency).toBe('GEL');
    expect(config.checks.internet.targets).toEqual(['tcp://127.0.0.1:1', 'https://example.test/']);
    expect(config.checks.printer.interface).toBe('none');
  });

  it('names every bad key, one problem per line', () => {
    const found = problems(() => loadAgentConfig(undefined, { HOTPOT_POINT_ID: 'Tbilisi 01', HOTPOT_HTTP_PORT: '99999', HOTPOT_LANGUAGE: 'fr' }));
    expect(found.some((p) => p.startsWith('pointId:'))).toBe(true);
    expect(found.some((p) => p.startsWith('http.port:'))).toBe(true);
    expect(found.some((p) => p.startsWith('language:'))).toBe(true);
    expect(problems(() => loadCentralConfig(undefined, { HOTPOT_DATABASE_URL: 'mysql://x' })).some((p) => p.startsWith('database.url:'))).toBe(true);
  });

  it('wants a client certificate and its key together, in both configs', () => {
    expect(problems(() => loadAgentConfig(undefined, { HOTPOT_POINT_ID: 'gori-01', HOTPOT_MQTT_CERT: '/etc/hotpot/client.crt' }))).toEqual([
      'mqtt.key: mqtt.cert and mqtt.key go together (the client certificate and its private key)',
    ]);
    expect(problems(() => loadCentralConfig(undefined, { HOTPOT_MQTT_KEY: '/etc/hotpot/central.key' }))).toEqual([
      'mqtt.cert: mqtt.cert and mqtt.key go together (the client certificate and its private key)',
    ]);
    const both = loadAgentConfig(undefined, { HOTPOT_POINT_ID: 'gori-01', HOTPOT_MQTT_CERT: '/etc/hotpot/client.crt', HOTPOT_MQTT_KEY: '/etc/hotpot/client.key' });
    expect(both.mqtt).toMatchObject({ cert: '/etc/hotpot/client.crt', key: '/etc/hotpot/client.key' });
  });

  it('reports an unreadable config file by name', () => {
    const found = problems(() => loadAgentConfig('/nonexistent/agent.json', {}));
    expect(found[0]).toContain('/nonexistent/agent.json');
  });

  it('hotpot agent with a bad config exits non-zero naming the key', async () => {
    const child = startChild(process.execPath, [HOTPOT_BIN, 'agent'], { env: { ...process.env, HOTPOT_POINT_ID: 'BAD ID', HOTPOT_MQTT_KEEPALIVE: '0' } });
    let stderr = '';
    child.proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await child.exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/pointId: /);
    expect(stderr).toMatch(/mqtt\.keepalive: /);
  });
});
