import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import mqtt from 'mqtt';
import { ConfigError } from '../../lib/config.js';
import { sampleMenuFile } from '../../lib/paths.js';
import { withTimeout } from '../../lib/timeout.js';
import { loadAgentConfig, preflightAgent } from '../../agent/config.js';
import { loadCentralConfig, preflightCentral } from '../../central/config.js';
import { CameraCheck } from '../../agent/checks/camera.js';
import { CaptureError, inspectJpeg } from '../../drivers/index.js';
import { contentDigest } from '../../sync/digest.js';
import { decodeMessage, PROTOCOL, topicOf, type MessageKind } from '../../sync/protocol.js';
import { AckMessage, Menu, orderNumber, OrderRecord } from '../../sync/schemas.js';
import { bodyFrom, fieldValue, method, pathFrom, query, rawRequest, segment } from './http.js';
import { startPeers } from './peers.js';

/** What one boundary's campaign found. A property failure throws (fast-check's report: seed, path, counterexample). */
export interface Figures {
  boundary: string;
  cases: number;
  status5xx: number;
  crashes: number;
  hangs: number;
  wrongAcks: number;
  ms: number;
}

export interface Campaign {
  runs: number;
  seed: number;
  /** A scratch directory the campaign may fill. */
  dir: string;
}

export type Boundary = (campaign: Campaign) => Promise<Figures>;

function figures(boundary: string, cases: number, started: number): Figures {
  return { boundary, cases, status5xx: 0, crashes: 0, hangs: 0, wrongAcks: 0, ms: Math.round(performance.now() - started) };
}

async function check<T>(property: fc.IAsyncPropertyWithHooks<T>, campaign: Campaign): Promise<void> {
  await fc.assert(property, { seed: campaign.seed, numRuns: campaign.runs, endOnFailure: true });
}

const SKUS = Menu.parse(JSON.parse(readFileSync(sampleMenuFile(), 'utf8'))).items.map((item) => item.sku);

/** Order bodies for the agent: mostly well-formed, with wrong types and edge values mixed in. */
const orderBody = fc.record(
  {
    items: fc.oneof(
      fc.array(
        fc.record(
          {
            sku: fc.oneof(fc.constantFrom(...SKUS), fieldValue),
            name: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fieldValue),
            unitPrice: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fieldValue),
            qty: fc.oneof(fc.integer({ min: 1, max: 9 }), fieldValue),
          },
          { requiredKeys: ['qty'] },
        ),
        { maxLength: 4 },
      ),
      fieldValue,
    ),
    payment: fc.oneof(fc.constantFrom('cash', 'card'), fieldValue),
    note: fc.oneof(fc.string({ maxLength: 60 }), fieldValue),
    clientRef: fc.oneof(fc.uuid(), fieldValue),
    managerPin: fieldValue,
    extra: fieldValue,
  },
  { requiredKeys: ['items', 'payment'] },
);

const AGENT_PATHS = ['/api/orders', '/api/orders/:id/reprint', '/api/health', '/api/reconciliation', '/api/menu', '/api/page', '/', '/login', '/api/login', '/api/logout', '/app.js', '/i18n.js'];

/** Agent HTTP: never 5xx, never a hang; a refused order changes nothing; a taken one is stored exactly. */
export const agentHttp: Boundary = async (campaign) => {
  const started = performance.now();
  const peers = await startPeers(join(campaign.dir, 'agent-http'));
  const count = peers.agent.store.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM orders');
  try {
    const host = fc.constantFrom('127.0.0.1', 'localhost', 'evil.example', '[::1]');
    await check(
      fc.asyncProperty(method, pathFrom(AGENT_PATHS), query, bodyFrom(orderBody), host, fc.option(fc.constantFrom('http://evil.example', 'null'), { freq: 4 }), async (verb, path, q, body, hostName, origin) => {
        const before = count.get()!.n;
        const headers: Record<string, string> = { host: hostName, ...(body ? { 'content-type': body.type } : {}), ...(origin ? { origin } : {}) };
        const answer = await rawRequest(peers.agent.httpPort!, verb, path + q, headers, verb === 'GET' || verb === 'HEAD' ? undefined : body?.bytes);
        const after = count.get()!.n;
        if (answer.status >= 500) throw new Error(`${verb} ${path}${q} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
        if (answer.status !== 201 && after !== before) throw new Error(`${verb} ${path} answered ${answer.status} yet the store changed (${before} → ${after})`);
        if (answer.status === 201) {
          const id = (JSON.parse(answer.body) as { id: string }).id;
          const stored = peers.agent.store.get(id);
          if (!stored || !OrderRecord.safeParse(stored.order).success) throw new Error(`201 for ${id}, but the store holds no valid record of it`);
        }
      }),
      campaign,
    );
  } finally {
    await peers.stop();
  }
  return figures('agent HTTP', campaign.runs, started);
};

/** Central HTTP, signed in as admin (and sometimes not): never 5xx, never a hang, a refusal commits no order. */
export const centralHttp: Boundary = async (campaign) => {
  const started = performance.now();
  const peers = await startPeers(join(campaign.dir, 'central-http'));
  const templates = [...new Set(peers.central.router.list().map((route) => route.path))];
  const shaped = fc.dictionary(fc.constantFrom('name', 'role', 'password', 'pointId', 'command', 'args', 'text', 'reason', 'severity', 'until', 'kind', 'note', 'url', 'enabled', 'date'), fieldValue, { maxKeys: 5 });
  try {
    const auth = fc.oneof({ weight: 8, arbitrary: fc.constant(`Bearer ${peers.token}`) }, { weight: 1, arbitrary: fc.constantFrom('', 'Bearer x', 'Basic Zm9vOmJhcg==', `Bearer ${peers.token}x`) });
    await check(
      fc.asyncProperty(method, pathFrom(templates), query, bodyFrom(shaped), auth, async (verb, path, q, body, authorization) => {
        const before = (await peers.central.orders.orderStats()).total;
        const headers: Record<string, string> = { host: '127.0.0.1', ...(authorization ? { authorization } : {}), ...(body ? { 'content-type': body.type } : {}) };
        const answer = await rawRequest(peers.central.httpPort!, verb, path + q, headers, verb === 'GET' || verb === 'HEAD' ? undefined : body?.bytes);
        if (answer.status >= 500) throw new Error(`${verb} ${path}${q} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
        if ((await peers.central.orders.orderStats()).total !== before) throw new Error(`${verb} ${path} changed central's orders`);
      }),
      campaign,
    );
  } finally {
    await peers.stop();
  }
  return figures('central HTTP', campaign.runs, started);
};

const KINDS = Object.keys(PROTOCOL) as MessageKind[];

function validOrder(pointId: string, seq: number, id: string, qty: number, unitPrice: number, payment: 'cash' | 'card'): OrderRecord {
  return {
    id, pointId, seq, number: orderNumber(pointId, seq), createdAt: 1_750_000_000_000 + seq,
    items: [{ sku: null, name: 'Tea', unitPrice, qty, lineTotal: unitPrice * qty }], total: unitPrice * qty, currency: 'GEL',
    payment, note: null, clientRef: null, mode: 'offline',
  };
}

/**
 * MQTT payloads on every topic of sync/protocol.ts, as the broker's central user (who may publish
 * anywhere): central and the agent never crash and keep answering; a refused message is never acked;
 * an ack names only orders committed with exactly the content sent, other content is a conflict.
 */
export const mqttIngest: Boundary = async (campaign) => {
  const started = performance.now();
  const peers = await startPeers(join(campaign.dir, 'mqtt'));
  const client = await mqtt.connectAsync(peers.brokerUrl, { clientId: `fuzz-${process.pid}`, protocolVersion: 4, ...peers.centralLogin });
  const answers: AckMessage[] = [];
  let waiter: (() => void) | undefined;
  client.on('message', (_topic, payload) => {
    // The campaign itself publishes junk on acks topics: only central's well-formed answers count.
    const decoded = decodeMessage(_topic, payload);
    if (decoded.ok && decoded.value.kind === 'pointAcks') answers.push(decoded.value.message as AckMessage);
    waiter?.();
  });
  await client.subscribeAsync(`hotpot/v1/points/+/acks`, { qos: 1 });
  /** First committed digest per order id, as central should hold it. */
  const committed = new Map<string, string>();
  const refusedOnly = new Set<string>();
  const ids = fc.uuid({ version: 7 });
  const point = fc.constantFrom('mqtt-01', 'mqtt-02');
  const order = fc.tuple(point, fc.integer({ min: 1, max: 1e6 }), ids, fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 100_000 }), fc.constantFrom('cash' as const, 'card' as const));
  const mutate = (value: unknown, path: string[], replacement: unknown): unknown => {
    if (path.length === 0 || typeof value !== 'object' || value === null) return replacement;
    const [head, ...rest] = path;
    const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...(value as Record<string, unknown>) };
    copy[head!] = mutate(copy[head!], rest, replacement);
    return copy;
  };
  const message = fc.oneof(
    { weight: 4, arbitrary: fc.array(order, { minLength: 1, maxLength: 3 }).map((list) => ({ kind: 'pointOrders' as MessageKind, pointId: list[0]![0], payload: { ts: 1, orders: list.map(([, seq, id, qty, price, pay]) => validOrder(list[0]![0], seq, id, qty, price, pay)) } })) },
    // A resend of an id central holds: the same content, or other quantities, total or payment.
    { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 999 })).map(([pick, same, qty]) => ({ kind: 'pointOrders' as MessageKind, pointId: 'resend', payload: { pick, same, qty } })) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...KINDS), point, fc.array(fc.constantFrom('ts', 'orders', '0', 'id', 'total', 'items', 'qty', 'online', 'session', 'checks', 'date', 'summaries', 'name', 'price'), { maxLength: 3 }), fieldValue, order).map(([kind, pointId, path, value, [, seq, id, qty, price, pay]]) => ({ kind, pointId, payload: mutate({ ts: 1, orders: [validOrder(pointId, seq, id, qty, price, pay)], online: true, session: 'x', checks: {} }, path, value) })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KINDS), point, fc.jsonValue({ maxDepth: 3 })).map(([kind, pointId, payload]) => ({ kind, pointId, payload })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KINDS), point, fc.uint8Array({ maxLength: 400 })).map(([kind, pointId, bytes]) => ({ kind, pointId, payload: Buffer.from(bytes) })) },
  );
  let wrongAcks = 0;
  try {
    await check(
      fc.asyncProperty(message, segment, async (m, command) => {
        let pointId = m.pointId;
        let payload = m.payload as unknown;
        if (pointId === 'resend') {
          const known = [...committed.keys()];
          if (known.length === 0) return;
          const { pick, same, qty } = m.payload as { pick: number; same: boolean; qty: number };
          const id = known[pick % known.length]!;
          const stored = (await peers.central.orders.listOrders({ limit: 1_000_000 })).find((o) => o.id === id)!;
          const { receivedAt: _r, ...record } = stored;
          const version = same ? record : { ...record, items: [{ ...record.items[0]!, qty, lineTotal: record.items[0]!.unitPrice * qty }], total: record.items[0]!.unitPrice * qty, payment: record.payment === 'cash' ? 'card' : 'cash' };
          pointId = record.pointId;
          payload = { ts: 2, orders: [version] };
        }
        let topic: string;
        try {
          topic = topicOf(m.kind as 'pointCommand', { pointId, command: command as 'reprint' });
        } catch {
          topic = topicOf(m.kind as 'pointCommand', { pointId, command: 'reprint' });
        }
        const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload) ?? 'null');
        const decoded = decodeMessage(topic, bytes);
        const orders = decoded.ok && decoded.value.kind === 'pointOrders' ? (decoded.value.message as { orders: OrderRecord[] }).orders : [];
        const crossPoint = orders.some((o) => o.pointId !== pointId);
        answers.length = 0;
        await client.publishAsync(topic, bytes, { qos: 1, retain: false });
        if (orders.length === 0 || crossPoint) {
          for (const o of orders) if (!committed.has(o.id)) refusedOnly.add(o.id);
          return;
        }
        // The expected answer for each id, from the model: first content is committed, the same again acked, other content a conflict.
        const expected = new Map<string, 'ack' | 'conflict'>();
        const seen = new Map<string, string>();
        for (const o of orders) {
          const digest = contentDigest(o);
          const first = committed.get(o.id) ?? seen.get(o.id);
          if (!first) seen.set(o.id, digest);
          const verdict = first === undefined || first === digest ? 'ack' : 'conflict';
          expected.set(o.id, expected.get(o.id) === 'conflict' ? 'conflict' : verdict);
        }
        await withTimeout(
          new Promise<void>((resolve) => {
            const done = () => {
              const answered = new Set(answers.flatMap((a) => [...a.ids, ...a.conflicts]));
              if ([...expected.keys()].every((id) => answered.has(id))) resolve();
            };
            waiter = done;
            done();
          }),
          10_000,
          `central's answer to ${orders.length} order(s) on ${topic}`,
        );
        waiter = undefined;
        for (const [id, digest] of seen) committed.set(id, digest);
        for (const answer of answers) {
          for (const id of answer.ids) {
            if (refusedOnly.has(id) || expected.get(id) !== 'ack') {
              wrongAcks++;
              throw new Error(`order ${id} acked, expected ${expected.get(id) ?? 'nothing (refused)'}`);
            }
          }
          for (const id of answer.conflicts) if (expected.get(id) !== 'conflict') throw new Error(`order ${id} answered conflict, expected ${expected.get(id)}`);
        }
      }),
      campaign,
    );
    // Still alive and answering after the campaign.
    const central = await rawRequest(peers.central.httpPort!, 'GET', '/api/health', { host: '127.0.0.1', authorization: `Bearer ${peers.token}` }, undefined);
    const agent = await rawRequest(peers.agent.httpPort!, 'GET', '/api/health', { host: '127.0.0.1' }, undefined);
    if (central.status !== 200 || agent.status !== 200) throw new Error(`after the campaign central answered ${central.status}, the agent ${agent.status}`);
  } finally {
    await client.endAsync();
    await peers.stop();
  }
  return { ...figures('MQTT payloads', campaign.runs, started), wrongAcks };
};

/** Config files and HOTPOT_* env: a ConfigError naming keys, or a config; never another exception. Paths stay in the scratch dir. */
export const configInput: Boundary = async (campaign) => {
  const started = performance.now();
  const dir = join(campaign.dir, 'config');
  mkdirSync(join(dir, 'a-dir'), { recursive: true });
  writeFileSync(join(dir, 'a-file'), 'x');
  writeFileSync(join(dir, 'huge'), Buffer.alloc(5 * 1024 * 1024, 0x20));
  const paths = fc.constantFrom(join(dir, 'a-dir'), join(dir, 'a-file'), join(dir, 'huge'), join(dir, 'missing', 'x'), join(dir, 'd'.repeat(300)), join(dir, 'data'), sampleMenuFile(), '');
  const PATH_KEYS = ['dataDir', 'menuFile', 'mqtt.ca', 'mqtt.cert', 'mqtt.key', 'broker.passwordFile', 'broker.tls.cert', 'broker.tls.key'];
  const HOST_KEYS = ['http.host', 'broker.host'];
  const keys = fc.constantFrom('pointId', 'dataDir', 'menuFile', 'mqtt.url', 'mqtt.username', 'mqtt.password', 'mqtt.ca', 'mqtt.keepalive', 'mqtt.sharedGroup', 'http.port', 'http.host', 'broker.port', 'broker.host', 'broker.tls.cert', 'timeZone', 'language', 'limits.maxOrderTotal', 'checks.camera.device', 'checks.internet.targets', 'pins.staff', 'kitchenPrinter', 'fleet.groups', 'nope', 'mqtt.nope');
  const value = fc.oneof(fieldValue, fc.constantFrom('mqtt://127.0.0.1:70000', 'mqtt://[::1]:1883', 'mqtt://::1:1883', 'mqtts://h:0', 'p'.repeat(70_000), 'Asia/Tbilisi', 'Mars/Olympus', 'file:/x.jpg', '1234'), fc.jsonValue({ maxDepth: 2 }));
  const setting = fc.tuple(keys, value, paths, fc.constantFrom('127.0.0.1', '::1', 'localhost', '0.0.0.0'));
  const layout = fc.tuple(fc.array(setting, { maxLength: 5 }), fc.array(setting, { maxLength: 3 }), fc.boolean(), fc.option(fc.string({ maxLength: 50 }), { freq: 8 }));
  const expectConfigError = async (work: () => Promise<unknown>) => {
    try {
      await withTimeout(work(), 10_000, 'config load and checks');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError: ${(error as Error).stack}`);
      for (const problem of error.problems) if (/\n/.test(problem) || problem.length > 400) throw new Error(`a problem that is not one line: ${problem.slice(0, 200)}`);
    }
  };
  const valueFor = (key: string, v: unknown, path: string, host: string) => (PATH_KEYS.includes(key) ? path : HOST_KEYS.includes(key) ? host : key.endsWith('port') && typeof v === 'number' && v > 0 && v < 65536 ? 0 : v);
  await check(
    fc.asyncProperty(layout, async ([fileSettings, envSettings, agentSide, broken]) => {
      const config: Record<string, unknown> = { pointId: 'cfg-01', dataDir: join(dir, 'data'), http: { port: 0 }, broker: { port: 0, host: '127.0.0.1' } };
      for (const [key, v, path, host] of fileSettings) {
        const parts = key.split('.');
        let node = config;
        for (const part of parts.slice(0, -1)) node = (node[part] = typeof node[part] === 'object' && node[part] !== null ? node[part] : {}) as Record<string, unknown>;
        node[parts.at(-1)!] = valueFor(key, v, path, host);
      }
      const file = join(dir, 'config.json');
      writeFileSync(file, broken ?? JSON.stringify(config));
      const env: Record<string, string> = {};
      for (const [key, v, path, host] of envSettings) {
        const name = `HOTPOT_${key.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
        const chosen = valueFor(key, v, path, host);
        env[name] = typeof chosen === 'string' ? chosen : JSON.stringify(chosen) ?? '';
      }
      await expectConfigError(async () => (agentSide ? preflightAgent(loadAgentConfig(file, env)) : preflightCentral(loadCentralConfig(file, env))));
    }),
    campaign,
  );
  return figures('config files and env', campaign.runs, started);
};

/** Camera frames: mutated baseline and progressive JPEGs into the scan; always a worded result, quickly. */
export const cameraFrames: Boundary = async (campaign) => {
  const started = performance.now();
  const width = 64;
  const height = 48;
  const pixels = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) pixels.set([(i * 7) % 256, (i * 3) % 256, (i >> 4) % 256, 255], i * 4);
  const baseline = Buffer.from(jpeg.encode({ data: pixels, width, height }, 80).data);
  const frames = [baseline];
  if (existsSync('/usr/bin/cjpeg')) {
    const ppm = Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), Buffer.from(pixels.filter((_, i) => i % 4 !== 3))]);
    frames.push(execFileSync('/usr/bin/cjpeg', ['-progressive'], { input: ppm }), execFileSync('/usr/bin/cjpeg', ['-restart', '1B', '-sample', '1x1'], { input: ppm }));
  }
  const edit = fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
    fc.tuple(fc.constant('cut' as const), fc.nat(), fc.nat({ max: 64 })),
    fc.tuple(fc.constant('insert' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
    fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant(0)),
  );
  const INTERNALS = /of undefined|undefined is not|Cannot (set|read) propert|is not a function|is not iterable|huffmanTable|Maximum call stack|\bat .*\.js/i;
  await check(
    fc.asyncProperty(fc.nat({ max: frames.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 8 }), async (which, edits) => {
      let bytes = Buffer.from(frames[which]!);
      for (const [kind, at, value] of edits) {
        const i = bytes.length ? at % bytes.length : 0;
        if (kind === 'set' && bytes.length) bytes[i] = value;
        if (kind === 'cut') bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + value)]);
        if (kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([value]), bytes.subarray(i)]);
        if (kind === 'truncate') bytes = bytes.subarray(0, i);
      }
      await withTimeout(
        inspectJpeg(bytes).catch((error: unknown) => {
          if (!(error instanceof CaptureError)) throw new Error(`the scan threw ${(error as Error).name}: ${(error as Error).message}`);
        }),
        5000,
        'the JPEG scan',
      ).catch((error: unknown) => {
        // The scan's own faults are caught by the camera check below; only a hang fails here.
        if ((error as Error).name === 'TimeoutError') throw error;
      });
      const check = new CameraCheck({ address: 'file:/fuzz.jpg', capture: async () => bytes }, { timeoutMs: 1000, blackLuma: 16, frozenAfter: 3 });
      const result = await withTimeout(check.run(), 5000, 'the camera check');
      if (INTERNALS.test(result.detail ?? '')) throw new Error(`camera detail shows internals: ${result.detail}`);
    }),
    campaign,
  );
  return figures('camera frames', campaign.runs, started);
};

export const BOUNDARIES: Record<string, Boundary> = {
  'agent-http': agentHttp,
  'central-http': centralHttp,
  mqtt: mqttIngest,
  config: configInput,
  camera: cameraFrames,
};
