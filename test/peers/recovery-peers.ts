import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, waitFor } from './net.js';

const run = promisify(execFile);

/** test/peers holds the .mjs peers; from the compiled bench (dist/test/peers) look in the source tree. */
export const PEER_DIR = [fileURLToPath(new URL('.', import.meta.url)), fileURLToPath(new URL('../../../test/peers/', import.meta.url))].find((dir) =>
  existsSync(join(dir, 'service.mjs')),
)!;

export const peerScript = (name: 'main-server.mjs' | 'service.mjs' | 'chain-node.mjs') => join(PEER_DIR, name);

/** A killed process stays a zombie until its (re)parent reaps it; that is not "running". */
function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * A process managed through test/peers/service.mjs (our stand-in for systemctl): the same argv
 * the runbook is configured with starts it, so a test can kill -9 it and watch the runbook
 * bring it back.
 */
export class ManagedProcess {
  readonly pidFile: string;
  readonly logFile: string;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    private readonly program: string[],
  ) {
    this.pidFile = join(dir, `${name}.pid`);
    this.logFile = join(dir, `${name}.log`);
  }

  /** The restart command as the runbook config holds it. */
  restartArgv(program: string[] = this.program): [string, ...string[]] {
    return [process.execPath, peerScript('service.mjs'), 'restart', '--pid-file', this.pidFile, '--log', this.logFile, '--port', String(this.port), '--', ...program];
  }

  statusArgv(): [string, ...string[]] {
    return [process.execPath, peerScript('service.mjs'), 'status', '--pid-file', this.pidFile];
  }

  logsArgv(): [string, ...string[]] {
    return [process.execPath, peerScript('service.mjs'), 'logs', '--log', this.logFile, '-n', '200'];
  }

  stopArgv(): [string, ...string[]] {
    return [process.execPath, peerScript('service.mjs'), 'stop', '--pid-file', this.pidFile];
  }

  async start(): Promise<void> {
    const [program, ...args] = this.restartArgv();
    await run(program, args, { timeout: 20_000 });
  }

  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    try {
      process.kill(pid, 0);
      return isZombie(pid) ? null : pid;
    } catch {
      return null;
    }
  }

  /** kill -9 by PID, as a crash; resolves once the process is gone. */
  async kill(): Promise<void> {
    const pid = this.pid();
    if (pid === null) return;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => this.pid() !== pid, `${this.name} (pid ${pid}) to die`, 10_000);
  }
}

export async function mainServerPeer(dir: string, extraArgs: string[] = []): Promise<ManagedProcess> {
  const port = await freePort();
  return new ManagedProcess('main-server', dir, port, [process.execPath, peerScript('main-server.mjs'), '--port', String(port), ...extraArgs]);
}

export interface ChainNodePeer extends ManagedProcess {
  url: string;
  stateFile: string;
}

/** Chain nodes sharing one genesis (already `blocksAgo` blocks old) and seed. */
export async function chainPeers(dir: string, names: string[], options: { blockMs: number; blocksAgo: number }): Promise<ChainNodePeer[]> {
  const genesis = Date.now() - options.blocksAgo * options.blockMs;
  return Promise.all(
    names.map(async (name) => {
      const port = await freePort();
      const stateFile = join(dir, `chain-${name}.json`);
      const peer = new ManagedProcess(`chain-${name}`, dir, port, [
        process.execPath,
        peerScript('chain-node.mjs'),
        'serve',
        '--port',
        String(port),
        '--name',
        name,
        '--genesis',
        String(genesis),
        '--block-ms',
        String(options.blockMs),
        '--state',
        stateFile,
      ]);
      return Object.assign(peer, { url: `http://127.0.0.1:${port}`, stateFile });
    }),
  );
}

/**
 * The main-server procedure the tests and the bench run (raw config, parsed by the caller):
 * diagnose (status, journal), restart through service.mjs, wait until up. Unset options keep
 * the schema's defaults (probe every 30 s, budget 3 in 15 min).
 */
export function mainServerRunbook(server: ManagedProcess, options: { every?: string; restarts?: number; waitIntervalMs?: number } = {}) {
  return {
    probe: {
      ...(options.every ? { every: options.every } : {}),
      checks: [{ type: 'http', url: `http://127.0.0.1:${server.port}/api/status`, expectJson: { path: 'status', equals: 'ok' } }],
    },
    ...(options.restarts === undefined ? {} : { budget: { restarts: options.restarts } }),
    stages: [
      {
        name: 'immediate',
        window: { to: '5m' },
        steps: [
          { type: 'probe', id: 'status', probes: [{ type: 'command', argv: server.statusArgv() }] },
          { type: 'probe', id: 'journal', probes: [{ type: 'command', argv: server.logsArgv() }] },
          { type: 'command', id: 'restart', argv: server.restartArgv(), restart: true, timeoutMs: 20_000 },
          { type: 'wait', id: 'verify-up', timeoutMs: 20_000, ...(options.waitIntervalMs ? { intervalMs: options.waitIntervalMs } : {}) },
        ],
      },
    ],
  };
}
