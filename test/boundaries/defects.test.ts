import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleMenuFile } from '../../lib/paths.js';
import { CameraCheck } from '../../agent/checks/camera.js';
import type { Agent } from '../../agent/agent.js';
import type { Central } from '../../central/central.js';
import { startAgent, startCentral } from '../helpers/inproc.js';
import { HOTPOT_BIN, httpJson, tempDir } from '../helpers/hotpot.js';
import { describeWithPeers } from '../helpers/peers.js';
import { freePort } from '../peers/net.js';
import { embeddedBrokerAt } from '../helpers/logins.js';

describeWithPeers('bad input the fuzz campaign found answers 4xx, never 5xx', [], () => {
  let central: Central;
  let agent: Agent;
  beforeAll(async () => {
    const dir = tempDir('defects');
    const port = await freePort();
    central = await startCentral(dir, { brokerPort: port });
    agent = await startAgent(dir, 'defects-01', embeddedBrokerAt(join(dir, 'central'), port));
  });
  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
  });

  it.each([
    ['GET', '/api/points/%zz'],
    ['GET', '/api/incidents/%zz'],
    ['GET', '/api/commands/%zz'],
    ['GET', '/api/points/%/history'],
    ['POST', '/api/points/%/commands'],
    ['POST', '/api/runbooks/%/dry-run'],
  ])('central %s %s: 400 BAD_URL_ESCAPE', async (method, path) => {
    const res = await httpJson<{ code: string }>(central.httpPort!, method, path, method === 'POST' ? {} : undefined);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_URL_ESCAPE');
  });

  it('agent POST /api/orders/%E0/reprint: 400 BAD_URL_ESCAPE', async () => {
    const res = await httpJson<{ code: string }>(agent.httpPort!, 'POST', '/api/orders/%E0/reprint', {});
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_URL_ESCAPE');
  });

  it.each(['9999-12-31', '0001-01-01', '1999-12-31', '2200-01-01'])('a date outside the product years (%s) is a 400 naming date, on both sides', async (date) => {
    for (const [port, path] of [
      [agent.httpPort!, `/api/orders?date=${date}`],
      [agent.httpPort!, `/api/reconciliation?date=${date}`],
      [central.httpPort!, `/api/reconciliation?pointId=defects-01&date=${date}`],
    ] as const) {
      const res = await httpJson<{ issues: { path: string }[] }>(port, 'GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.issues.map((i) => i.path)).toEqual(['date']);
    }
  });

  it('dates at the ends of the range still answer', async () => {
    for (const date of ['2000-01-01', '2199-12-31']) {
      expect((await httpJson(agent.httpPort!, 'GET', `/api/orders?date=${date}`)).status).toBe(200);
      expect((await httpJson(agent.httpPort!, 'GET', `/api/reconciliation?date=${date}`)).status).toBe(200);
    }
  });
});

/** `hotpot <command>` with env over a clean slate: exit code and stderr. */
async function runHotpot(command: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HOTPOT_')));
  try {
    await promisify(execFile)(process.execPath, [HOTPOT_BIN, command, ...args], { env: { ...base, HOTPOT_LOG_LEVEL: 'warn', ...env }, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number | string; stderr: string; killed?: boolean };
    if (failed.killed) throw new Error(`hotpot ${command} neither served nor exited within 30 s`);
    return { code: Number(failed.code), stderr: failed.stderr };
  }
}

function expectConfigRefusal(result: { code: number; stderr: string }, key: string): void {
  expect(result.code, result.stderr).toBe(78);
  expect(result.stderr).toContain(`- ${key}: `);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('config checked before anything starts: one line per problem, exit 78, no stack', () => {
  const dir = tempDir('preflight');
  const agentEnv = { HOTPOT_POINT_ID: 'pre-01', HOTPOT_DATA_DIR: join(dir, 'agent'), HOTPOT_HTTP_PORT: '0' };
  const centralEnv = { HOTPOT_DATA_DIR: join(dir, 'central'), HOTPOT_HTTP_PORT: '0', HOTPOT_BROKER_PORT: '0', HOTPOT_BROKER_HOST: '127.0.0.1' };
  let held: Server;
  let heldPort: number;
  beforeAll(async () => {
    held = createServer();
    heldPort = await new Promise<number>((resolve) => held.listen(0, '127.0.0.1', () => resolve((held.address() as { port: number }).port)));
    mkdirSync(join(dir, 'a-dir'));
    writeFileSync(join(dir, 'a-file'), 'x');
    writeFileSync(join(dir, 'huge-menu.json'), Buffer.alloc(5 * 1024 * 1024, 0x20));
  });
  afterAll(() => new Promise<void>((resolve) => held.close(() => resolve())));

  it('a missing required key says missing', async () => {
    const result = await runHotpot('agent', { HOTPOT_DATA_DIR: join(dir, 'agent') });
    expectConfigRefusal(result, 'pointId');
    expect(result.stderr).toContain('pointId: missing');
  });

  it.each([
    ['mqtt.ca', { HOTPOT_MQTT_CA: '/nonexistent/ca.pem' }],
    ['mqtt.ca', { HOTPOT_MQTT_CA: '/tmp' }],
    ['mqtt.password', { HOTPOT_MQTT_USERNAME: 'u', HOTPOT_MQTT_PASSWORD: '@longpass' }],
    ['menuFile', { HOTPOT_MENU_FILE: '/nonexistent/menu.json' }],
    ['menuFile', { HOTPOT_MENU_FILE: '@huge' }],
    ['dataDir', { HOTPOT_DATA_DIR: '@file' }],
    ['dataDir', { HOTPOT_DATA_DIR: '@long' }],
    ['mqtt.url', { HOTPOT_MQTT_URL: 'mqtt://127.0.0.1:70000' }],
    ['http.port', { HOTPOT_HTTP_PORT: '@held' }],
  ])('agent: %s %j', async (key, over) => {
    const env = Object.fromEntries(Object.entries(over).map(([k, v]) => [k, resolve(v)]));
    expectConfigRefusal(await runHotpot('agent', { ...agentEnv, ...env }), key);
  });

  it.each([
    ['mqtt.ca', { HOTPOT_MQTT_URL: 'mqtts://127.0.0.1:8883', HOTPOT_MQTT_CA: '/nonexistent/ca.pem' }],
    ['mqtt.url', { HOTPOT_MQTT_URL: 'mqtt://127.0.0.1:99999' }],
    ['broker.port', { HOTPOT_BROKER_PORT: '@held' }],
    ['http.port', { HOTPOT_HTTP_PORT: '@held' }],
    ['dataDir', { HOTPOT_DATA_DIR: '@file' }],
    ['mqtt.sharedGroup', { HOTPOT_MQTT_SHARED_GROUP: 'ingest' }],
  ])('central: %s %j', async (key, over) => {
    const env = Object.fromEntries(Object.entries(over).map(([k, v]) => [k, resolve(v)]));
    expectConfigRefusal(await runHotpot('central', { ...centralEnv, ...env }), key);
  });

  function resolve(value: string): string {
    if (value === '@held') return String(heldPort);
    if (value === '@file') return join(dir, 'a-file');
    if (value === '@long') return join(dir, 'd'.repeat(300));
    if (value === '@huge') return join(dir, 'huge-menu.json');
    if (value === '@longpass') return 'p'.repeat(70_000);
    return value;
  }

  it('the sample menu and a fresh data dir pass the checks (the agent serves)', async () => {
    // Sanity: the checks refuse only what is wrong.
    const { preflightAgent, loadAgentConfig } = await import('../../agent/config.js');
    await expect(preflightAgent(loadAgentConfig(undefined, { ...agentEnv, HOTPOT_MENU_FILE: sampleMenuFile() }))).resolves.toBeUndefined();
  });
});

describeWithPeers('central on broker.host ::1 connects to its own broker and ingests', [], () => {
  it('builds mqtt://[::1]:PORT and is connected when it logs ready', async () => {
    const dir = tempDir('ipv6');
    const central = await startCentral(dir, { extra: { broker: { host: '::1', port: 0 } } });
    try {
      expect(central.brokerUrl).toMatch(/^mqtt:\/\/\[::1\]:\d+$/);
      expect(central.mqttConnected).toBe(true);
    } finally {
      await central.stop();
    }
  });
});

describe('the camera detail never shows decoder internals', () => {
  it('a decoder fault on a corrupt frame reads as a corrupt image', async () => {
    const camera = { address: 'file:/frame.jpg', capture: async () => Buffer.from([0xff, 0xd8, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x00, 0xff, 0xd9]) };
    const check = new CameraCheck(camera, { timeoutMs: 1000, blackLuma: 16, frozenAfter: 3 });
    const result = await check.run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/JPEG|corrupt/);
    expect(result.detail).not.toMatch(/undefined|Cannot (set|read) propert|huffman/i);
  });
});
