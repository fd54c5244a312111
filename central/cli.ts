import { createLogger } from '../lib/log.js';
import { CommandError, untilSignal, type Command } from '../lib/cli.js';
import { loadCentralConfig, preflightCentral } from './config.js';
import { Central } from './central.js';
import { centralPlugins } from './plugins.js';

export const centralCommand: Command = {
  name: 'central',
  summary: 'run the central service',
  usage: [
    'usage: hotpot central [--config FILE]',
    '',
    'Runs central: with no config, an embedded MQTT broker on 1883, HTTP on 127.0.0.1:8080,',
    'SQLite in ./data/central. Set mqtt.url to join an external broker instead, database.url for',
    'PostgreSQL; replicas share both, with mqtt.sharedGroup and a distinct mqtt.clientId each.',
    'Every config key can be overridden by HOTPOT_<PATH>, e.g. HOTPOT_HTTP_PORT=9090.',
    '',
    "hotpot central init writes the runbook's procedures, backups and contacts into the config;",
    'hotpot central check probes what they watch; hotpot central polkit prints the rule for the units',
    'they restart. Each takes --help.',
  ].join('\n'),
  options: { config: { type: 'string', short: 'c' } },
  async run(values, positionals) {
    if (positionals.length) throw new CommandError(`unknown sub-command "${positionals.join(' ')}": init, check or polkit`, 2);
    const config = loadCentralConfig(values.config as string | undefined);
    await preflightCentral(config);
    const log = createLogger({ name: 'central' });
    const central = new Central(config, { log, plugins: centralPlugins() });
    await central.start();
    const signal = await untilSignal();
    log.info({ signal }, 'stopping');
    await central.stop();
    return 0;
  },
};
