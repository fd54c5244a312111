import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { withTimeout } from '../../lib/timeout.js';

/** A child process the test started; stopped only by its own PID. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startChild(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string; uid?: number; gid?: number } = {},
): Child {
  const proc = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    // Programs that refuse to run as root (postgres) run as their own user; the PID is still theirs.
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (options.logFile) {
    const out = createWriteStream(options.logFile, { flags: 'a' });
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
  } else {
    proc.stdout?.resume();
    proc.stderr?.resume();
  }
  const exited = new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
  });
  if (!proc.pid) throw new Error(`could not start ${command}: is it installed?`);
  const pid = proc.pid;
  return {
    proc,
    pid,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await withTimeout(exited, 10_000, `${command} (pid ${pid}) to exit after ${signal}`);
    },
  };
}
