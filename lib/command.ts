/**
 * The one way hotpot runs a program: an argv array (never a shell string), killed with SIGKILL at
 * its timeout, its output captured within a bound, its secrets redacted.
 */
import { spawn } from 'node:child_process';
import type { Redact } from './redact.js';
import { withTimeout } from './timeout.js';
import { z } from 'zod';

/** A program and its arguments in config; never a shell string (DESIGN principle 4). */
export const argvSchema = z.tuple([z.string().min(1, 'the program name must not be empty')], z.string());

export interface CommandSpec {
  argv: readonly string[];
  timeoutMs: number;
  /** Added to this process's environment (an undefined value is left out). */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

export interface CommandOptions {
  /** Applied to the output and the start error (default: nothing redacted). */
  redact?: Redact;
  /** How many characters of output to keep, the last ones (default 4000). */
  tailChars?: number;
  /**
   * Keep stdout whole, as bytes, up to this many (a program writing more is killed). The output
   * tail is then stderr's alone.
   */
  stdoutMaxBytes?: number;
}

export interface CommandResult {
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** The last characters of stdout and stderr as they came (stderr alone with `stdoutMaxBytes`), redacted. */
  output: string;
  /** Stdout, with `stdoutMaxBytes`. */
  stdout?: Buffer;
  /** Stdout went past `stdoutMaxBytes` and the program was killed. */
  stdoutOverflow?: boolean;
  /** Set when the program could not be started at all (`errorCode` e.g. ENOENT). */
  error?: string;
  errorCode?: string;
}

const DEFAULT_TAIL_CHARS = 4000;
/** Extra text kept before redacting, so a secret cut at the tail's edge is still recognised. */
const REDACT_MARGIN = 1024;
const keepAll: Redact = (text) => text;

/** Keeps the last `limit` characters (plus a margin so a secret cut at the edge is still matched). */
class OutputTail {
  private text = '';
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    if (this.text.length > 2 * (this.limit + REDACT_MARGIN)) this.text = this.text.slice(-(this.limit + REDACT_MARGIN));
  }
  read(redact: Redact): string {
    return redact(this.text.slice(-(this.limit + REDACT_MARGIN))).slice(-this.limit);
  }
}

/** Collects a stream's bytes up to `max`; `onOverflow` runs once when it goes past. */
class ByteCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;
  constructor(
    private readonly max: number,
    private readonly onOverflow: () => void,
  ) {}
  push(chunk: Buffer): void {
    if (this.overflowed) return;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.overflowed = true;
      this.onOverflow();
      return;
    }
    this.chunks.push(chunk);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * Runs argv (never through a shell). At `timeoutMs` the process it started gets SIGKILL.
 * Resolves, never rejects: a failure to start is reported in `error` (only an empty argv, a
 * programming error, throws).
 */
export async function runCommand(spec: CommandSpec, options: CommandOptions = {}): Promise<CommandResult> {
  const redact = options.redact ?? keepAll;
  const [program, ...args] = spec.argv;
  if (program === undefined) throw new Error('runCommand needs a program in argv');
  const started = Date.now();
  const tail = new OutputTail(options.tailChars ?? DEFAULT_TAIL_CHARS);
  const child = spawn(program, args, {
    cwd: spec.cwd,
    env: spec.env ? { ...process.env, ...spec.env } : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: false,
  });
  const stdout = options.stdoutMaxBytes === undefined ? undefined : new ByteCollector(options.stdoutMaxBytes, () => child.kill('SIGKILL'));
  child.stdout.on('data', (chunk: Buffer) => (stdout ? stdout.push(chunk) : tail.push(chunk)));
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, spec.timeoutMs);
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  // A grandchild may still hold the pipes open; take what arrived and stop reading.
  if (!outcome.error) {
    const closed = new Promise<void>((resolve) => (child.stdout.readableEnded && child.stderr.readableEnded ? resolve() : child.once('close', () => resolve())));
    await withTimeout(closed, 1000, `${program} output to close`).catch(() => undefined);
  }
  child.stdout.destroy();
  child.stderr.destroy();
  const result: CommandResult = {
    pid: child.pid,
    exitCode: outcome.code,
    signal: outcome.signal,
    timedOut,
    durationMs: Date.now() - started,
    output: tail.read(redact),
  };
  if (stdout) {
    result.stdout = stdout.bytes();
    result.stdoutOverflow = stdout.overflowed;
  }
  if (outcome.error) {
    result.error = redact(outcome.error.message);
    if (outcome.error.code) result.errorCode = outcome.error.code;
  }
  return result;
}

/** How much of a failed command's output a failure line quotes (its end: where programs say what went wrong). */
const FAILURE_OUTPUT_CHARS = 500;

/** True when the program ran to the end and exited 0. */
export function succeeded(result: CommandResult): boolean {
  return !result.error && !result.timedOut && !result.stdoutOverflow && result.exitCode === 0;
}

/** `systemctl restart "main server"`: argv shown as a reader would type it (display only, never run). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
}

/** One line saying how a command ended: could not start, timed out, overflowed, or its exit and duration. */
export function describeCommandResult(spec: CommandSpec, result: CommandResult, redact: Redact = keepAll): string {
  const what = redact(`\`${formatArgv(spec.argv)}\``);
  if (result.error) return `${what} could not start: ${result.error}`;
  if (result.timedOut) return `${what} timed out after ${spec.timeoutMs} ms and was killed (SIGKILL)`;
  if (result.stdoutOverflow) return `${what} wrote more output than it may and was killed (SIGKILL)`;
  return `${what} exited ${result.exitCode ?? `by ${result.signal}`} in ${result.durationMs} ms`;
}

/** How a command that did not succeed ended, with the end of what it said. */
export function describeFailure(spec: CommandSpec, result: CommandResult, redact: Redact = keepAll): string {
  const said = result.output.trim().slice(-FAILURE_OUTPUT_CHARS);
  return `${describeCommandResult(spec, result, redact)}${said ? `: ${said}` : ''}`;
}
