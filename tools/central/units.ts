import { basename } from 'node:path';
import type { CentralConfig } from '../../central/config.js';

/** systemctl verbs that change a unit: polkit asks `org.freedesktop.systemd1.manage-units` for each. */
export const MANAGE_VERBS = ['start', 'stop', 'restart', 'reload', 'try-restart', 'reload-or-restart', 'try-reload-or-restart'] as const;
export type ManageVerb = (typeof MANAGE_VERBS)[number];

/** One unit a recovery command starts, stops or restarts; `host` is the ssh destination, null for this host. */
export interface ManagedUnit {
  unit: string;
  verb: ManageVerb;
  host: string | null;
}

/** ssh options that take a value (OpenSSH's `ssh -[BbcDEeFIiJLlmOoPpQRSWw] value`). */
const SSH_OPTIONS_WITH_VALUE = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));

/** `blockchain_project` → `blockchain_project.service`, as systemd (and polkit's `unit`) names it. */
export function fullUnitName(unit: string): string {
  return /\.(service|socket|target|timer|mount|path|slice|scope|swap|device|automount)$/.test(unit) ? unit : `${unit}.service`;
}

/** The ssh destination and the remote command of an `ssh … HOST command…` argv, or null when it is not ssh. */
function splitSsh(argv: readonly string[]): { host: string; command: string[] } | null {
  if (basename(argv[0] ?? '') !== 'ssh') return null;
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const flags = argv[i]!.slice(1);
    // `-o X` takes the next word; `-oX` and flag clusters like `-tt` do not.
    i += flags.length === 1 && SSH_OPTIONS_WITH_VALUE.has(flags) ? 2 : 1;
  }
  const host = argv[i];
  return host ? { host, command: argv.slice(i + 1) } : null;
}

/** The units `argv` changes through systemctl, here or over ssh; [] for any other command. */
export function unitsOfArgv(argv: readonly string[]): ManagedUnit[] {
  const ssh = splitSsh(argv);
  const command = ssh ? ssh.command : [...argv];
  if (basename(command[0] ?? '') !== 'systemctl') return [];
  const words = command.slice(1).filter((word) => !word.startsWith('-'));
  const verb = words[0] as ManageVerb | undefined;
  if (!verb || !MANAGE_VERBS.includes(verb)) return [];
  return words.slice(1).map((unit) => ({ unit: fullUnitName(unit), verb, host: ssh?.host ?? null }));
}

/** Every argv central's recovery procedures may run: steps, their checks, chain node restarts. */
export function recoveryArgvs(recovery: CentralConfig['recovery']): string[][] {
  const found: string[][] = [];
  const probes = (list: readonly { type: string; argv?: readonly string[] }[] | undefined) => list?.forEach((p) => p.argv && found.push([...p.argv]));
  for (const procedure of Object.values(recovery.procedures)) {
    probes(procedure.probe.checks);
    procedure.chain?.nodes.forEach((node) => node.restart && found.push([...node.restart.argv]));
    for (const stage of procedure.stages) {
      for (const step of stage.steps) {
        if ('argv' in step) found.push([...step.argv]);
        if ('probes' in step) probes(step.probes);
        if ('before' in step) probes(step.before);
        if ('after' in step) probes(step.after?.probes);
      }
    }
  }
  return found;
}

/** The units central's config manages, each (unit, verb, host) once, in a stable order. */
export function managedUnits(recovery: CentralConfig['recovery']): ManagedUnit[] {
  const seen = new Map<string, ManagedUnit>();
  for (const unit of recoveryArgvs(recovery).flatMap(unitsOfArgv)) seen.set(`${unit.host ?? ''} ${unit.unit} ${unit.verb}`, unit);
  return [...seen.values()].sort((a, b) => (a.host ?? '').localeCompare(b.host ?? '') || a.unit.localeCompare(b.unit) || a.verb.localeCompare(b.verb));
}
