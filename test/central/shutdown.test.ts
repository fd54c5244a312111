import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/paths.js';
import { STOP_BUDGET_MS } from '../../central/central.js';
import { PLUGIN_STOP_MS } from '../../central/plugin-host.js';
import { AGENT_STOP_BUDGET_MS } from '../../agent/agent.js';

function timeoutStopSeconds(unit: string): number {
  const text = readFileSync(join(packageRoot(), 'install', 'systemd', `${unit}.service`), 'utf8');
  const match = /^TimeoutStopSec=(\d+)s?$/m.exec(text);
  if (!match) throw new Error(`${unit}.service sets no TimeoutStopSec`);
  return Number(match[1]);
}

describe('shutdown stays inside the unit', () => {
  it("central's parts together stop before systemd's TimeoutStopSec, and one plugin cannot use the plugins' whole share", () => {
    const total = Object.values(STOP_BUDGET_MS).reduce((sum, ms) => sum + ms, 0);
    expect(total).toBeLessThan(timeoutStopSeconds('hotpot-central') * 1000);
    expect(PLUGIN_STOP_MS).toBeLessThan(STOP_BUDGET_MS.plugins);
  });

  it("the agent's parts together stop before its unit's TimeoutStopSec", () => {
    const total = Object.values(AGENT_STOP_BUDGET_MS).reduce((sum, ms) => sum + ms, 0);
    expect(total).toBeLessThan(timeoutStopSeconds('hotpot-agent') * 1000);
  });
});
