import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../../lib/config.js';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { backupsConfigSchema } from '../../central/backups/config.js';

const problems = (schema: typeof recoveryConfigSchema | typeof backupsConfigSchema, value: unknown) => {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  return formatIssues(result.error!.issues);
};

const mainServer = {
  probe: { checks: [{ type: 'http', url: 'http://127.0.0.1:9000/api/status' }] },
  stages: [{ name: 'immediate', steps: [{ type: 'command', id: 'restart', argv: ['systemctl', 'restart', 'main'], timeoutMs: 30000, restart: true }] }],
};

describe('recovery and backups config', () => {
  it('an empty config configures nothing (only the host watch, which acts on nothing)', () => {
    const config = recoveryConfigSchema.parse({});
    expect(config.procedures).toEqual({});
    expect(config.host).toMatchObject({ enabled: true, cpuPercent: 80, memoryPercent: 80, diskPercent: 80, every: 60_000 });
    const backups = backupsConfigSchema.parse({});
    expect(backups.postgres).toBeUndefined();
    expect(backups).toMatchObject({ maxVerifiedAgeHours: 26, dir: 'data/backups' });
  });

  it('fills the defaults of a procedure: 30 s probes, budget 3 in 15 min, approvals on', () => {
    const procedure = recoveryConfigSchema.parse({ procedures: { 'main-server': mainServer } }).procedures['main-server']!;
    expect(procedure.probe).toMatchObject({ every: 30_000, failAfter: 1 });
    expect(procedure.budget).toEqual({ restarts: 3, window: 900_000 });
    expect(procedure.auto).toBe(false);
    expect(procedure.stages[0]).toMatchObject({ attempts: 1, window: { from: 0 } });
    expect(procedure.stages[0]!.steps[0]).toMatchObject({ destructive: false, onFailure: 'next-stage', expectExit: 0, env: {} });
  });

  it('accepts durations as text or milliseconds', () => {
    const config = recoveryConfigSchema.parse({
      procedures: { m: { ...mainServer, probe: { ...mainServer.probe, every: '5s' }, budget: { window: 60000 }, stages: [{ ...mainServer.stages[0], window: { from: '1.5m', to: '4h' } }] } },
    });
    const procedure = config.procedures.m!;
    expect(procedure.probe.every).toBe(5000);
    expect(procedure.budget.window).toBe(60_000);
    expect(procedure.stages[0]!.window).toEqual({ from: 90_000, to: 14_400_000 });
  });

  it('refuses shell strings, unknown step types and bad durations, naming the key', () => {
    const shell = { ...mainServer, stages: [{ name: 'x', steps: [{ type: 'command', id: 'restart', argv: 'systemctl restart main' }] }] };
    expect(problems(recoveryConfigSchema, { procedures: { m: shell } }).join('\n')).toMatch(/^procedures\.m\.stages\.0\.steps\.0\.argv: /m);
    expect(problems(recoveryConfigSchema, { procedures: { m: { ...mainServer, stages: [{ name: 'x', steps: [{ type: 'sh', id: 'a' }] }] } } }).join('\n')).toMatch(
      /procedures\.m\.stages\.0\.steps\.0\.type/,
    );
    expect(problems(recoveryConfigSchema, { procedures: { m: { ...mainServer, probe: { ...mainServer.probe, every: 'soon' } } } }).join('\n')).toMatch(
      /procedures\.m\.probe\.every: expected a duration/,
    );
    expect(problems(recoveryConfigSchema, { procedures: { m: { ...mainServer, stages: [{ name: 'x', steps: [{ type: 'command', id: 'a', argv: [''] }] }] } } }).join('\n')).toMatch(
      /argv\.0: the program name must not be empty/,
    );
  });

  it('refuses duplicate step ids and chain steps without chain settings', () => {
    const twice = { ...mainServer, stages: [mainServer.stages[0], { name: 'again', steps: mainServer.stages[0]!.steps }] };
    expect(problems(recoveryConfigSchema, { procedures: { m: twice } })).toContain('procedures.m.stages.1.steps.0.id: step id "restart" is used twice in this procedure');
    const chain = { probe: { checks: [{ type: 'chain' }] }, stages: [{ name: 'x', steps: [{ type: 'chain-restart', id: 'r' }] }] };
    expect(problems(recoveryConfigSchema, { procedures: { chain } }).join('\n')).toMatch(/procedures\.chain\.chain: chain probes and steps need/);
    const badOrder = { ...chain, chain: { nodes: [{ name: 'a', url: 'http://127.0.0.1:1' }], restartOrder: ['z'] } };
    expect(problems(recoveryConfigSchema, { procedures: { chain: badOrder } })).toContain('procedures.chain.chain.restartOrder.0: no chain node is named "z"');
  });

  it('accepts the example in central/recovery/README.md', () => {
    const readme = readFileSync(new URL('../../central/recovery/README.md', import.meta.url), 'utf8');
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(readme)![1]!) as { recovery: unknown; backups: unknown };
    const recovery = recoveryConfigSchema.parse(example.recovery);
    expect(Object.keys(recovery.procedures)).toEqual(['main-server', 'database', 'chain']);
    expect(recovery.procedures.database!.stages[1]!.approval).toBe(true);
    // The seed procedures tell the staff: each posts a notice in ru, en and ka.
    for (const procedure of Object.values(recovery.procedures)) {
      const notice = procedure.stages[0]!.steps.find((step) => step.type === 'notice');
      expect(notice).toMatchObject({ type: 'notice', text: { ru: expect.any(String), en: expect.any(String), ka: expect.any(String) } });
    }
    expect(recovery.procedures['main-server']!.stages[0]!.steps[0]).toMatchObject({ text: { en: 'The main server is down. Orders are kept on this box and will be sent when it is back.' } });
    expect(backupsConfigSchema.parse(example.backups).postgres?.schedules.daily?.cron).toBe('0 3 * * *');
  });

  it('validates backup schedules as cron and URLs as postgres URLs', () => {
    const text = problems(backupsConfigSchema, { postgres: { url: 'mysql://x', schedules: { daily: { cron: 'every night' } } } }).join('\n');
    expect(text).toMatch(/postgres\.url: expected a postgres:\/\/ connection URL/);
    expect(text).toMatch(/postgres\.schedules\.daily\.cron: not a valid cron expression/);
    const ok = backupsConfigSchema.parse({ postgres: { url: 'postgres://postgres@127.0.0.1/app', schedules: { daily: { cron: '0 3 * * *' }, monthly: { cron: '0 4 1 * *' } } } });
    expect(ok.postgres).toMatchObject({ schedules: { daily: { retentionDays: 7 }, monthly: { retentionDays: 365 } }, targets: [{ type: 'local', retentionDays: 7 }], verify: { enabled: true, checks: [] } });
    // one local target; a drill needs a target it can fetch from
    expect(problems(backupsConfigSchema, { config: { paths: ['/x'], targets: [] } }).join('\n')).toMatch(/config\.targets: exactly one \{ "type": "local" \} target/);
    expect(problems(backupsConfigSchema, { config: { paths: ['/x'], drill: {} } }).join('\n')).toMatch(/config\.drill\.target: the drill needs a command target with a fetch command/);
  });
});
