#!/usr/bin/env node
import { ConfigError } from '../lib/config.js';
import { CommandError, parseCommandArgs, type Command } from '../lib/cli.js';

/** Each command is loaded only when asked for, so one part's failure cannot break another's. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  central: { summary: 'run the central service', load: async () => (await import('../central/cli.js')).centralCommand },
  agent: { summary: "run a point box's agent", load: async () => (await import('../agent/cli.js')).agentCommand },
  demo: { summary: 'central plus three simulated points, all in one process tree', load: async () => (await import('../tools/demo.js')).demoCommand },
  doctor: { summary: 'run every agent check once and print a table', load: async () => (await import('../agent/cli.js')).doctorCommand },
  'smart-report': { summary: "write each whole disk's smartctl -H verdict for the agent's disk check (root)", load: async () => (await import('../agent/smart-report.js')).smartReportCommand },
  simulate: { summary: 'N simulated points (health + orders) against a broker', load: async () => (await import('../tools/simulate.js')).simulateCommand },
  'provision-ca': { summary: "make the franchise CA and the broker's TLS certificate", load: async () => (await import('../tools/provision/index.js')).provisionCaCommand },
  'provision-point': { summary: "issue a point's broker credentials and its agent.json", load: async () => (await import('../tools/provision/index.js')).provisionPointCommand },
  user: { summary: "add, list and remove central's users, change a password", load: async () => (await import('../central/access/cli.js')).userCommand },
  token: { summary: 'create, list and revoke API tokens for central', load: async () => (await import('../central/access/cli.js')).tokenCommand },
  redrive: { summary: 'send parked orders to the main server again', load: async () => (await import('../central/upstream/cli.js')).redriveCommand },
  reforward: { summary: 'send the main server again every order forwarded since a time (after a restore)', load: async () => (await import('../central/upstream/cli.js')).reforwardCommand },
};

/** Sub-modes of a command, each a command of its own: `hotpot central init`. */
const SUBCOMMANDS: Record<string, Record<string, { summary: string; load: () => Promise<Command> }>> = {
  central: {
    init: { summary: "write the runbook's procedures, backups and notify skeleton into central's config", load: async () => (await import('../tools/central/index.js')).centralInitCommand },
    check: { summary: 'probe every configured target once; print what each procedure would do', load: async () => (await import('../tools/central/index.js')).centralCheckCommand },
    polkit: { summary: 'print the polkit rule for the units central restarts', load: async () => (await import('../tools/central/index.js')).centralPolkitCommand },
  },
};

function usage(): string {
  const entries = Object.entries(COMMANDS).flatMap(([name, c]) => [
    [name, c.summary] as const,
    ...Object.entries(SUBCOMMANDS[name] ?? {}).map(([sub, s]) => [`${name} ${sub}`, s.summary] as const),
  ]);
  const width = Math.max(...entries.map(([n]) => n.length));
  return [
    'usage: hotpot <command> [options]',
    '',
    ...entries.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Every command takes --help.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...afterFirst] = argv;
  const sub = first ? SUBCOMMANDS[first]?.[afterFirst[0] ?? ''] : undefined;
  const name = sub ? `${first} ${afterFirst[0]}` : first;
  const rest = sub ? afterFirst.slice(1) : afterFirst;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const entry = sub ?? COMMANDS[name];
  if (!entry) {
    process.stderr.write(`hotpot: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const command = await entry.load();
  let parsed;
  try {
    parsed = parseCommandArgs(command, rest);
  } catch (error) {
    process.stderr.write(`hotpot ${name}: ${(error as Error).message}\n\n${command.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(parsed.values, parsed.positionals);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hotpot ${name}: ${error.message}\n`);
      return 78;
    }
    if (error instanceof CommandError) {
      process.stderr.write(`hotpot ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`hotpot ${name}: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // A service that failed while starting may hold sockets and timers: it must exit, not hang deaf.
    if (code !== 0) process.exit(code);
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`hotpot: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
