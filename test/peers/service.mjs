#!/usr/bin/env node
// Test peer: a tiny service manager standing in for systemctl/journalctl, so runbook commands
// are real argv commands that start, stop and inspect real processes.
//   node service.mjs restart --pid-file F --log F [--port N] [--wait-ms N] -- PROGRAM ARGS...
//   node service.mjs stop    --pid-file F
//   node service.mjs status  --pid-file F        (exit 0 running, 3 not running)
//   node service.mjs logs    --log F [-n 200]
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const dashDash = process.argv.indexOf('--');
const own = dashDash === -1 ? process.argv.slice(2) : process.argv.slice(2, dashDash);
const program = dashDash === -1 ? [] : process.argv.slice(dashDash + 1);
const { values, positionals } = parseArgs({
  args: own,
  allowPositionals: true,
  options: {
    'pid-file': { type: 'string' },
    log: { type: 'string' },
    port: { type: 'string' },
    'wait-ms': { type: 'string', default: '10000' },
    n: { type: 'string', short: 'n', default: '200' },
  },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (line) => process.stdout.write(`${line}\n`);

// A killed process stays a zombie until its (re)parent reaps it; that is not "running".
function isZombie(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return false;
  }
}

function runningPid() {
  const file = values['pid-file'];
  if (!file || !existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return isZombie(pid) ? null : pid;
  } catch {
    return null;
  }
}

async function stop() {
  const pid = runningPid();
  if (pid === null) return;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && runningPid() !== null; i++) await sleep(50);
  rmSync(values['pid-file'], { force: true });
  out(`stopped pid ${pid}`);
}

const portOpen = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

async function restart() {
  await stop();
  const log = values.log ? openSync(values.log, 'a') : 'ignore';
  const child = spawn(program[0], program.slice(1), { detached: true, stdio: ['ignore', log, log] });
  let exited = null;
  child.once('exit', (code) => (exited = code));
  writeFileSync(values['pid-file'], String(child.pid));
  out(`started pid ${child.pid}`);
  if (values.port) {
    const deadline = Date.now() + Number(values['wait-ms']);
    while (Date.now() < deadline) {
      if (exited !== null) {
        // Its own words say why (a port still held, a bad state file): put them in the audit.
        const said = values.log && existsSync(values.log) ? readFileSync(values.log, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
        out(`process exited with code ${exited} while starting${said ? `: ${said}` : ''}`);
        process.exit(1);
      }
      if (await portOpen(Number(values.port))) break;
      await sleep(50);
    }
    if (!(await portOpen(Number(values.port)))) {
      out(`port ${values.port} not open after ${values['wait-ms']} ms`);
      process.exit(1);
    }
  }
  child.unref();
  process.exit(0);
}

const command = positionals[0];
if (command === 'restart') await restart();
else if (command === 'stop') await stop();
else if (command === 'status') {
  const pid = runningPid();
  out(pid === null ? 'inactive (dead)' : `active (running) pid ${pid}`);
  process.exit(pid === null ? 3 : 0);
} else if (command === 'logs') {
  const text = values.log && existsSync(values.log) ? readFileSync(values.log, 'utf8') : '';
  out(text.split('\n').slice(-Number(values.n) - 1).join('\n'));
} else {
  out(`usage: service.mjs restart|stop|status|logs ...`);
  process.exit(2);
}
