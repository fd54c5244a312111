import { basename } from 'node:path';
import { describeCommandResult, describeFailure, runCommand, succeeded, type CommandSpec } from '../../lib/command.js';
import type { Redact } from '../../lib/redact.js';
import type { CommandTarget } from './config.js';

/** A listing may be long (a year of copies): keep this much of it. */
const LIST_MAX_BYTES = 4 * 1024 * 1024;

export interface TargetOutcome {
  ok: boolean;
  detail: string;
  stdout?: string;
}

/** Runs an off-site target's copy, list, delete and fetch commands (argv, its env and timeout). */
export class CommandTargetClient {
  constructor(
    readonly target: CommandTarget,
    private readonly redact: Redact,
  ) {}

  /** Sends `file` (and the target's copy argv may send `{checksumFile}` with it). */
  copy(file: string): Promise<TargetOutcome> {
    return this.run(this.target.copy, { file, name: basename(file), checksumFile: `${file}.sha256` });
  }

  list(): Promise<TargetOutcome> {
    return this.run(this.target.list, {}, LIST_MAX_BYTES);
  }

  delete(name: string): Promise<TargetOutcome> {
    return this.run(this.target.delete, { name });
  }

  /** Copies `name` back to the local path `file`. */
  fetch(name: string, file: string): Promise<TargetOutcome> {
    if (!this.target.fetch) return Promise.resolve({ ok: false, detail: `target ${this.target.name} has no fetch command` });
    return this.run(this.target.fetch, { file, name, checksumFile: `${file}.sha256` });
  }

  private async run(argv: readonly [string, ...string[]], values: Record<string, string>, stdoutMaxBytes?: number): Promise<TargetOutcome> {
    const all: Record<string, string> = { remote: this.target.remote, ...values };
    const filled = argv.map((arg) => arg.replace(/\{(file|name|checksumFile|remote)\}/g, (whole, key: string) => all[key] ?? whole));
    const spec: CommandSpec = { argv: filled, env: this.target.env, timeoutMs: this.target.timeoutMs };
    const result = await runCommand(spec, { redact: this.redact, ...(stdoutMaxBytes ? { stdoutMaxBytes } : {}) });
    const ok = succeeded(result);
    return {
      ok,
      detail: ok ? describeCommandResult(spec, result, this.redact) : describeFailure(spec, result, this.redact),
      ...(result.stdout ? { stdout: result.stdout.toString('utf8') } : {}),
    };
  }
}
