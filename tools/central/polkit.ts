import { loadCentralConfig } from '../../central/config.js';
import type { Command } from '../../lib/cli.js';
import { DEFAULT_CENTRAL_CONFIG } from './init.js';
import { managedUnits, type ManagedUnit } from './units.js';

/** The service user central runs as (install/lib.sh SERVICE_USER). */
export const SERVICE_USER = 'hotpot';
/** Where install/central.sh puts the rule and the allow-list it was made from. */
export const POLKIT_RULE_FILE = '/etc/polkit-1/rules.d/50-hotpot-central.rules';
export const UNIT_ALLOW_LIST_FILE = '/etc/hotpot/systemd-units.allow';

/** unit → verbs, for the units of one host (null: this host). */
function verbsByUnit(units: readonly ManagedUnit[], host: string | null): Map<string, string[]> {
  const byUnit = new Map<string, string[]>();
  for (const { unit, verb } of units.filter((u) => u.host === host)) byUnit.set(unit, [...(byUnit.get(unit) ?? []), verb].sort());
  return byUnit;
}

/** The allow-list: `VERB UNIT` per line, what the polkit rule lets the service user do. */
export function renderAllowList(units: readonly ManagedUnit[], host: string | null = null): string {
  const lines = [...verbsByUnit(units, host)].flatMap(([unit, verbs]) => verbs.map((verb) => `${verb} ${unit}`));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export function parseAllowList(text: string): Set<string> {
  return new Set(text.split('\n').map((line) => line.trim().replace(/\s+/g, ' ')).filter((line) => line && !line.startsWith('#')));
}

/**
 * A polkit rule (JavaScript, ES5: polkitd's engine) that lets `user` start, stop or restart exactly
 * the listed units with exactly the listed verbs, and refuses that user every other unit action.
 * Other users are left to the other rules. Empty when there is nothing to allow.
 */
export function renderPolkitRule(units: readonly ManagedUnit[], host: string | null = null, user = SERVICE_USER): string {
  const allowed = Object.fromEntries(verbsByUnit(units, host));
  if (Object.keys(allowed).length === 0) return '';
  return `// Written by hotpot (install/central.sh, or \`hotpot central polkit\`) from central's recovery
// procedures: user ${user} may change exactly these systemd units, with exactly these verbs, and
// no other unit. Edit central.json and re-run the installer instead of this file.
polkit.addRule(function (action, subject) {
  if (action.id !== "org.freedesktop.systemd1.manage-units" || subject.user !== ${JSON.stringify(user)}) {
    return polkit.Result.NOT_HANDLED;
  }
  var allowed = ${JSON.stringify(allowed)};
  var unit = action.lookup("unit");
  var verbs = Object.prototype.hasOwnProperty.call(allowed, unit) ? allowed[unit] : [];
  return verbs.indexOf(action.lookup("verb")) >= 0 ? polkit.Result.YES : polkit.Result.NO;
});
`;
}

export const centralPolkitCommand: Command = {
  name: 'central polkit',
  summary: 'print the polkit rule (or the allow-list) for the units central restarts',
  usage: [
    'usage: hotpot central polkit [--config FILE] [--host HOST] [--allow-list]',
    '',
    "Prints the polkit rule that lets user hotpot start, stop and restart exactly the systemd units",
    "central's recovery procedures name, and nothing else (install/central.sh writes it to",
    `${POLKIT_RULE_FILE}, and the allow-list to ${UNIT_ALLOW_LIST_FILE}). With --host, the rule for the`,
    'units the procedures reach over ssh on that host (as their ssh command names it, e.g. hotpot@10.0.0.5):',
    'put it on that host. --allow-list prints `VERB UNIT` lines instead. Nothing to allow: prints nothing.',
  ].join('\n'),
  options: { config: { type: 'string', short: 'c' }, host: { type: 'string' }, 'allow-list': { type: 'boolean' } },
  async run(values) {
    const config = loadCentralConfig((values.config as string | undefined) ?? DEFAULT_CENTRAL_CONFIG);
    const units = managedUnits(config.recovery);
    const host = (values.host as string | undefined) ?? null;
    // A remote host's rule is for the user ssh logs in as there.
    const user = host?.includes('@') ? host.split('@')[0]! : SERVICE_USER;
    process.stdout.write(values['allow-list'] ? renderAllowList(units, host) : renderPolkitRule(units, host, user));
    return 0;
  },
};
