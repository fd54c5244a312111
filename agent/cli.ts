import { createLogger } from '../lib/log.js';
import { CommandError, untilSignal, type Command } from '../lib/cli.js';
import { DiskFullAtOpenError } from '../lib/sqlite.js';
import { loadAgentConfig, preflightAgent } from './config.js';
import { Agent } from './agent.js';
import { deviceDeps, runDoctor } from './checks/index.js';
import { startSdNotify } from '../lib/sdnotify.js';

/** `hotpot agent`'s exit code when its data disk is too full to open the order store (EX_TEMPFAIL: try again later). */
export const DISK_FULL_EXIT = 75;

export const agentCommand: Command = {
  name: 'agent',
  summary: "run a point box's agent",
  usage: [
    'usage: hotpot agent [--config FILE]',
    '',
    'Runs the box agent: order store, staff page and API (127.0.0.1:8088 by default),',
    'health checks, and the outbox that syncs orders to central over MQTT.',
    'Every config key can be overridden by HOTPOT_<PATH>, e.g. HOTPOT_MQTT_URL, HOTPOT_POINT_ID.',
  ].join('\n'),
  options: { config: { type: 'string', short: 'c' } },
  async run(values) {
    const config = loadAgentConfig(values.config as string | undefined);
    await preflightAgent(config);
    const log = createLogger({ name: 'agent' });
    // The internet check asks the agent's own MQTT link whether central is reachable.
    let agent: Agent | undefined;
    const devices = await deviceDeps(config, log, () => agent?.link.connected ?? false);
    try {
      agent = new Agent(config, { log, health: devices.health, receipts: devices.receipts, kitchen: devices.kitchen, drawer: devices.drawer });
    } catch (error) {
      await devices.close();
      // A disk too full to hold even the store's schema (a new box, an upgrade): one line, and systemd tries again.
      if (error instanceof DiskFullAtOpenError) throw new CommandError(error.message, DISK_FULL_EXIT);
      throw error;
    }
    await agent.start();
    // systemd (Type=notify, WatchdogSec): READY once orders can be taken, then watchdog pings.
    const notify = startSdNotify(log);
    await notify.ready();
    const signal = await untilSignal();
    log.info({ signal }, 'stopping');
    notify.stop();
    await agent.stop();
    await devices.close();
    return 0;
  },
};

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'run every agent check once and print a table',
  usage: 'usage: hotpot doctor [--config FILE]\n\nRuns every agent check once and prints a table; exits 1 if any check is down.',
  options: { config: { type: 'string', short: 'c' } },
  async run(values) {
    const config = loadAgentConfig(values.config as string | undefined);
    // The table goes to stdout; log lines (errors only, unless HOTPOT_LOG_LEVEL says otherwise) to stderr.
    const log = createLogger({ name: 'doctor', level: process.env.HOTPOT_LOG_LEVEL ?? 'error', destination: process.stderr });
    return runDoctor(config, process.stdout, log);
  },
};
