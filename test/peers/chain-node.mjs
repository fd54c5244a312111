#!/usr/bin/env node
// Test peer: one blockchain node. Every honest node derives the same chain from a shared seed
// and genesis time (a block every --block-ms), so nodes agree without talking to each other;
// a node can be told to stall or to fork, and a fork kept in --state survives a restart
// ("on disk"), as a real diverged node would.
//   node chain-node.mjs serve --port N --name a --genesis MS [--block-ms 500] [--seed S] [--state FILE]
//   node chain-node.mjs restore --url http://127.0.0.1:N --height H   (the runbook's restore command)
// Endpoints: GET /api/status, GET /api/blockchain/status → {chain: {height, lastBlockHash}},
// GET /api/blockchain/block/:height → {block: {height, hash}}, POST /admin/stall, POST /admin/fork
// {fromHeight?}, POST /admin/restore {height}.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    name: { type: 'string', default: 'node' },
    genesis: { type: 'string' },
    'block-ms': { type: 'string', default: '500' },
    seed: { type: 'string', default: 'hotpot-chain' },
    state: { type: 'string' },
    url: { type: 'string' },
    height: { type: 'string' },
  },
});

if (positionals[0] === 'restore') {
  const response = await fetch(new URL('/admin/restore', values.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ height: Number(values.height) }),
    signal: AbortSignal.timeout(5000),
  });
  process.stdout.write(`${values.url}: ${response.status} ${await response.text()}\n`);
  process.exit(response.ok ? 0 : 1);
}

const genesis = Number(values.genesis);
const blockMs = Number(values['block-ms']);
const loadFork = () => (values.state && existsSync(values.state) ? JSON.parse(readFileSync(values.state, 'utf8')).fork ?? null : null);
let fork = loadFork(); // {fromHeight, seed} or null
let stalledAt = null;
let memo = [];

const liveHeight = () => Math.max(0, Math.floor((Date.now() - genesis) / blockMs));
const height = () => stalledAt ?? liveHeight();
const seedAt = (h) => (fork && h >= fork.fromHeight ? fork.seed : values.seed);
function hashAt(h) {
  for (let i = memo.length; i <= h; i++) {
    const previous = i === 0 ? 'genesis' : memo[i - 1];
    memo.push(createHash('sha256').update(`${previous}:${seedAt(i)}:${i}`).digest('hex'));
  }
  return memo[h];
}
function setFork(next) {
  fork = next;
  memo = [];
  if (values.state) {
    // Whole or not at all: a node killed mid-write must still start from its state file.
    writeFileSync(`${values.state}.tmp`, JSON.stringify({ fork }));
    renameSync(`${values.state}.tmp`, values.state);
  }
}

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const readBody = async (req) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const block = /^\/api\/blockchain\/block\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/api/status') return json(res, 200, { ok: true, name: values.name, pid: process.pid });
  if (req.method === 'GET' && url.pathname === '/api/blockchain/status') {
    const h = height();
    return json(res, 200, { chain: { height: h, lastBlockHash: hashAt(h) }, name: values.name });
  }
  if (req.method === 'GET' && block) {
    const h = Number(block[1]);
    if (h > height()) return json(res, 404, { error: `no block ${h} yet` });
    return json(res, 200, { block: { height: h, hash: hashAt(h) } });
  }
  if (req.method === 'POST' && url.pathname === '/admin/stall') {
    stalledAt = height();
    return json(res, 200, { stalledAt });
  }
  if (req.method === 'POST' && url.pathname === '/admin/fork') {
    const body = await readBody(req);
    const fromHeight = body.fromHeight ?? Math.max(1, height() - 2);
    fork = { fromHeight, seed: randomBytes(8).toString('hex') };
    memo = [];
    return json(res, 200, { fork });
  }
  if (req.method === 'POST' && url.pathname === '/admin/restore') {
    const body = await readBody(req);
    // Keep blocks up to `height`, then follow the honest chain again.
    if (fork && fork.fromHeight <= body.height) return json(res, 409, { error: `block ${body.height} is already forked here` });
    setFork(null);
    return json(res, 200, { restoredFrom: body.height });
  }
  return json(res, 404, { error: 'not found' });
});
server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`chain node ${values.name} listening on ${values.port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
