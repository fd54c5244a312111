#!/usr/bin/env node
// Test peer: plays the franchise's main server (GET /api/status). Runs as its own process so a
// test can kill -9 it and a runbook's restart command can start it again.
//   node main-server.mjs --port N [--crash-on-start] [--log-secret TEXT]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'crash-on-start': { type: 'boolean', default: false },
    'log-secret': { type: 'string' },
  },
});
const say = (line) => process.stdout.write(`${new Date().toISOString()} main-server[${process.pid}] ${line}\n`);

// A server "that will not come back": its start fails, as with a broken deploy.
if (values['crash-on-start']) {
  say('FATAL: cannot open database connection; exiting');
  process.exit(3);
}
if (values['log-secret']) say(`connecting to db with password=${values['log-secret']} Authorization: Bearer ${values['log-secret']}`);

const started = Date.now();
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/status') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', pid: process.pid, uptimeMs: Date.now() - started }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'not found' }));
});
server.listen(Number(values.port), values.host, () => say(`listening on ${values.host}:${values.port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
