import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';

/** How a systemd unit of install/systemd runs hotpot: node's own flags and the environment. */
export interface UnitRuntime {
  nodeArgs: string[];
  env: Record<string, string>;
}

/**
 * Reads node's flags (between `@NODE@` and the script on `ExecStart=`) and every `Environment=`
 * from the unit template, so a benchmark measures the process as the box runs it.
 */
export function unitRuntime(unit: 'hotpot-agent' | 'hotpot-central'): UnitRuntime {
  const file = join(packageRoot(), 'install', 'systemd', `${unit}.service`);
  const lines = readFileSync(file, 'utf8').split('\n').map((line) => line.trim());
  const execStart = lines.find((line) => line.startsWith('ExecStart='));
  if (!execStart) throw new Error(`${file} has no ExecStart= line`);
  const command = execStart.slice('ExecStart='.length);
  // Quoting is more than this reader understands (a prefix such as "-" fails the @NODE@ check below).
  if (/["']/.test(command)) throw new Error(`${file}: ExecStart= uses quotes; extend unitRuntime before relying on it`);
  const words = command.split(/\s+/);
  const script = words.findIndex((word) => word.endsWith('/hotpot.js'));
  if (words[0] !== '@NODE@' || script < 0) throw new Error(`${file}: ExecStart= is not "@NODE@ [flags] …/hotpot.js …"`);
  const env: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith('Environment='))) {
    if (/["']/.test(line)) throw new Error(`${file}: a quoted Environment= value; extend unitRuntime before relying on it`);
    for (const assignment of line.slice('Environment='.length).split(/\s+/)) {
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return { nodeArgs: words.slice(1, script), env };
}
