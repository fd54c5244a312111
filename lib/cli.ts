import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One `hotpot` sub-command. Implementations live in the part they belong to. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Resolves to the process exit code; long-running commands resolve when stopped. */
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<number>;
}

export function parseCommandArgs(command: Command, argv: string[]) {
  return parseArgs({
    args: argv,
    options: { ...command.options, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
}

/**
 * A failure the command explains in one line (what went wrong and what to do): `hotpot` prints
 * `hotpot <command>: <message>` without a stack and exits with `exitCode`.
 */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'CommandError';
  }
}

/** Resolves when SIGINT/SIGTERM arrives, so a service can stop cleanly. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
