import type { ActionStep, ProbeSpec, Step } from './config.js';
import { isAction, isDestructive } from './config.js';
import { formatArgv } from '../../lib/command.js';
import { formatDuration } from '../../lib/duration.js';

export function describeProbe(probe: ProbeSpec): string {
  const label = probe.name ? `${probe.name}: ` : '';
  switch (probe.type) {
    case 'http': {
      const expects = [
        `status ${probe.expectStatus.join('/')}`,
        probe.expectBody !== undefined ? `body containing ${JSON.stringify(probe.expectBody)}` : '',
        probe.expectJson ? `JSON ${probe.expectJson.path}${probe.expectJson.equals !== undefined ? ` = ${JSON.stringify(probe.expectJson.equals)}` : ' present'}` : '',
      ].filter(Boolean);
      return `${label}http ${probe.method} ${probe.url} expecting ${expects.join(', ')}`;
    }
    case 'postgres':
      return `${label}postgres ${probe.url}: ${probe.query}${probe.min !== undefined ? ` ≥ ${probe.min}` : ' is true'}`;
    case 'disk':
      return `${label}disk ${probe.path} at least ${probe.minFreePercent}% free`;
    case 'command':
      return `${label}\`${formatArgv(probe.argv)}\` exits ${probe.expectExit} (timeout ${formatDuration(probe.timeoutMs)})`;
    case 'chain':
      return `${label}chain nodes up, advancing, agreeing (no stall, fork or lost quorum)`;
  }
}

export function describeProbes(probes: readonly ProbeSpec[]): string {
  return probes.map(describeProbe).join('; ');
}

function describeAction(step: ActionStep): string {
  switch (step.type) {
    case 'command':
      return `run \`${formatArgv(step.argv)}\` (timeout ${formatDuration(step.timeoutMs)})${step.restart ? ', a restart: counts against the budget' : ''}`;
    case 'http':
      return `http ${step.method} ${step.url} (timeout ${formatDuration(step.timeoutMs)})`;
    case 'restore-backup':
      if (step.kind === 'config') return 'restore the newest config archive over its configured paths';
      if (step.kind === 'chain') return 'restore the newest chain state backup through backups.chain.restore';
      return `pg_restore the newest verified postgres backup into ${step.url}`;
    case 'chain-restart':
      return 'restart the faulty chain nodes in the configured order, each waited for; counts against the budget';
    case 'chain-restore':
      return `restore every chain node from the last block they all agree on: \`${formatArgv(step.argv)}\` per node`;
  }
}

export function describeStep(step: Step): string {
  const title = step.title ? ` (${step.title})` : '';
  if (isAction(step)) return `${step.id}${title}: ${describeAction(step)}${isDestructive(step) ? ' [destructive]' : ''}`;
  switch (step.type) {
    case 'probe':
      return `${step.id}${title}: check ${describeProbes(step.probes)}`;
    case 'wait':
      return `${step.id}${title}: wait up to ${formatDuration(step.timeoutMs)} for ${step.probes ? describeProbes(step.probes) : 'the target to be healthy'}`;
    case 'manual':
      return `${step.id}${title}: manual — ${step.text}`;
    case 'notify':
      return `${step.id}${title}: notify (${step.severity}) — ${step.text}`;
    case 'notice':
      return `${step.id}${title}: notice to the staff (${step.severity}) — ${step.text.en}`;
  }
}
