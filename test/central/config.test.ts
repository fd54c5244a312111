import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { loadCentralConfig } from '../../central/config.js';
import { loadAgentConfig } from '../../agent/config.js';

function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('unknown config keys are refused, naming the key', () => {
  it('a typo in a plugin section names the key it resembles instead of leaving the default', () => {
    expect(problems(() => loadCentralConfig(undefined, {}, { alerts: { disconected: { afterMs: 1000 } } }))).toEqual([
      'alerts.disconected: unknown key (did you mean alerts.disconnected?)',
    ]);
    expect(problems(() => loadCentralConfig(undefined, {}, { recovery: { procedures: { main: { probe: { checks: [{ type: 'http', url: 'http://x/', timeoutMS: 5 }] }, stages: [{ name: 'one', steps: [{ type: 'wait', id: 'up' }] }] } } } }))).toEqual([
      expect.stringMatching(/^recovery\.procedures\.main\.probe\.checks\.0\.timeoutMS: unknown key \(did you mean .*timeoutMs\?\)$/),
    ]);
    expect(problems(() => loadCentralConfig(undefined, {}, { dashbord: {} }))).toEqual(['dashbord: unknown key']);
  });

  it('a key 0.1 had elsewhere says where it went', () => {
    expect(problems(() => loadCentralConfig(undefined, {}, { fleet: { history: { bucketMs: 1000 } } }))).toEqual(['fleet.history: this key moved to history']);
  });

  it('the agent refuses unknown keys too', () => {
    expect(problems(() => loadAgentConfig(undefined, {}, { pointId: 'tbilisi-01', checks: { printr: {} } }))).toEqual(['checks.printr: unknown key (did you mean checks.printer?)']);
  });
});
