import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { centralConfigSchema } from '../../central/config.js';
import { renderAllowList, renderPolkitRule, managedUnits, unitsOfArgv, initCentralConfig, type RunbookInput } from '../../tools/central/index.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { chainPeers, mainServerPeer, type ChainNodePeer, type ManagedProcess } from '../peers/recovery-peers.js';
import { throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { REPO, run, tempDir, removeTempDirs } from './fixtures.js';

afterAll(removeTempDirs);

const HOTPOT = join(REPO, 'dist/bin/hotpot.js');
const hotpot = (...args: string[]) => run(process.execPath, [HOTPOT, ...args]);

const SITE: RunbookInput = {
  statusUrl: 'http://10.0.0.5/api/status',
  service: 'blockchain_project',
  databaseUrl: 'postgres://app@127.0.0.1:5432/main',
  chainNodes: [
    { name: 'n1', url: 'http://10.0.1.1:3001' },
    { name: 'n2', url: 'http://10.0.1.2:3001' },
    { name: 'n3', url: 'http://127.0.0.1:3001' },
  ],
  chainService: 'chain-node',
};

/** The generated rule, evaluated as polkitd would: the decision for one action by one user. */
function polkitDecision(rule: string, action: { id?: string; verb: string; unit: string }, user: string): string {
  const Result = { YES: 'yes', NO: 'no', NOT_HANDLED: 'not handled' };
  const rules: ((a: unknown, s: unknown) => string)[] = [];
  runInNewContext(rule, { polkit: { Result, addRule: (fn: (a: unknown, s: unknown) => string) => rules.push(fn) } });
  expect(rules).toHaveLength(1);
  const details: Record<string, string> = { verb: action.verb, unit: action.unit };
  return rules[0]!({ id: action.id ?? 'org.freedesktop.systemd1.manage-units', lookup: (key: string) => details[key] }, { user });
}

describe('hotpot central init', () => {
  it("writes the runbook's three procedures, backups and contacts, valid for central; the same run again changes nothing", () => {
    const file = join(tempDir('init'), 'central.json');
    writeFileSync(file, JSON.stringify({ dataDir: '/var/lib/hotpot', http: { port: 8080 } }), { mode: 0o600 });
    expect(initCentralConfig(file, SITE)).toMatchObject({ changed: true });
    const text = readFileSync(file, 'utf8');
    const config = centralConfigSchema.parse(JSON.parse(text));
    expect(config.dataDir).toBe('/var/lib/hotpot');
    expect(Object.keys(config.recovery.procedures).sort()).toEqual(['chain', 'database', 'main-server']);
    expect(config.recovery.procedures['main-server']!.stages.map((s) => s.name)).toEqual(['immediate', 'failover', 'rebuild']);
    expect(config.recovery.procedures.database!.stages.map((s) => [s.name, s.approval])).toEqual([['diagnose', false], ['data-recovery', true]]);
    expect(config.recovery.procedures.chain!.chain!.nodes.map((n) => n.restart?.argv)).toEqual([
      ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', 'hotpot@10.0.1.1', 'systemctl', 'restart', 'chain-node'],
      ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', 'hotpot@10.0.1.2', 'systemctl', 'restart', 'chain-node'],
      ['systemctl', 'restart', 'chain-node'],
    ]);
    expect(config.backups).toMatchObject({ dir: '/var/lib/hotpot/backups', postgres: { url: SITE.databaseUrl, schedules: { daily: { cron: '0 2 * * *', retentionDays: 7 }, weekly: { cron: '0 3 * * 0', retentionDays: 28 }, monthly: { cron: '0 4 1 * *', retentionDays: 365 } }, targets: [{ type: 'local', retentionDays: 7 }] }, maxVerifiedAgeHours: 26 });
    expect(config.notify.contacts.map((c) => c.name)).toEqual(['administrator', 'on-duty']);
    expect(initCentralConfig(file, SITE)).toMatchObject({ changed: false });
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('leaves a section edited by hand alone unless --force', () => {
    const file = join(tempDir('init'), 'central.json');
    initCentralConfig(file, SITE);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.recovery.procedures['main-server'].probe.every = '10s';
    writeFileSync(file, JSON.stringify(edited));
    const before = readFileSync(file, 'utf8');
    expect(() => initCentralConfig(file, SITE)).toThrow(/already has other recovery\.procedures\.main-server .*--force/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(initCentralConfig(file, SITE, true)).toMatchObject({ changed: true, conflicts: ['recovery.procedures.main-server'] });
  });

  it('names the option at fault and writes nothing', async () => {
    const file = join(tempDir('init'), 'central.json');
    const result = await hotpot('central', 'init', '--config', file, '--status-url', 'ftp://x', '--service', 'a b', '--database-url', 'postgres://h/db');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--status-url: expected an http/);
    expect(result.stderr).toMatch(/--service: a systemd unit name/);
    expect(result.stderr).toMatch(/--chain-node: /);
  });
});

describe('the polkit rule for the units central restarts', () => {
  const config = () => {
    const file = join(tempDir('polkit'), 'central.json');
    initCentralConfig(file, SITE);
    return centralConfigSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  };

  it('finds systemctl units in argv, here or over ssh, and nothing else', () => {
    expect(unitsOfArgv(['systemctl', 'restart', 'main'])).toEqual([{ unit: 'main.service', verb: 'restart', host: null }]);
    expect(unitsOfArgv(['/usr/bin/systemctl', '--no-block', 'stop', 'a.service', 'b.socket'])).toEqual([{ unit: 'a.service', verb: 'stop', host: null }, { unit: 'b.socket', verb: 'stop', host: null }]);
    expect(unitsOfArgv(['ssh', '-o', 'BatchMode=yes', '-p', '2222', 'ops@h', 'systemctl', 'restart', 'x'])).toEqual([{ unit: 'x.service', verb: 'restart', host: 'ops@h' }]);
    expect(unitsOfArgv(['systemctl', 'status', 'main'])).toEqual([]);
    expect(unitsOfArgv(['journalctl', '-u', 'main'])).toEqual([]);
  });

  it('lets hotpot restart, stop and start exactly the configured units; refuses another unit, another verb; leaves other users alone', () => {
    const units = managedUnits(config().recovery);
    expect(renderAllowList(units)).toBe(
      ['restart blockchain_project.service', 'start blockchain_project.service', 'stop blockchain_project.service', 'restart chain-node.service', 'restart postgresql.service', ''].join('\n'),
    );
    const rule = renderPolkitRule(units);
    expect(polkitDecision(rule, { verb: 'restart', unit: 'blockchain_project.service' }, 'hotpot')).toBe('yes');
    expect(polkitDecision(rule, { verb: 'stop', unit: 'blockchain_project.service' }, 'hotpot')).toBe('yes');
    expect(polkitDecision(rule, { verb: 'restart', unit: 'postgresql.service' }, 'hotpot')).toBe('yes');
    expect(polkitDecision(rule, { verb: 'restart', unit: 'ssh.service' }, 'hotpot')).toBe('no');
    expect(polkitDecision(rule, { verb: 'restart', unit: 'hasOwnProperty' }, 'hotpot')).toBe('no');
    expect(polkitDecision(rule, { verb: 'stop', unit: 'postgresql.service' }, 'hotpot')).toBe('no');
    expect(polkitDecision(rule, { verb: 'reload', unit: 'blockchain_project.service' }, 'hotpot')).toBe('no');
    expect(polkitDecision(rule, { verb: 'restart', unit: 'blockchain_project.service' }, 'www-data')).toBe('not handled');
    expect(polkitDecision(rule, { id: 'org.freedesktop.systemd1.manage-unit-files', verb: 'restart', unit: 'blockchain_project.service' }, 'hotpot')).toBe('not handled');
  });

  it("gives a remote host its own rule for the user ssh logs in as, from the CLI", async () => {
    const file = join(tempDir('polkit'), 'central.json');
    initCentralConfig(file, SITE);
    const remote = await hotpot('central', 'polkit', '--config', file, '--host', 'hotpot@10.0.1.1');
    expect(remote.code).toBe(0);
    expect(polkitDecision(remote.stdout, { verb: 'restart', unit: 'chain-node.service' }, 'hotpot')).toBe('yes');
    expect(polkitDecision(remote.stdout, { verb: 'restart', unit: 'blockchain_project.service' }, 'hotpot')).toBe('no');
    const local = await hotpot('central', 'polkit', '--config', file);
    expect(local.stdout).toBe(renderPolkitRule(managedUnits(centralConfigSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).recovery)));
  });
});

describeWithPeers('hotpot central check against a main server, PostgreSQL and three chain nodes', [peers.postgres()], () => {
  let dir: string;
  let server: ManagedProcess;
  let nodes: ChainNodePeer[];
  let database: ThrowawayDatabase;
  let configFile: string;
  let allowList: string;

  beforeAll(async () => {
    dir = tempDir('check');
    server = await mainServerPeer(dir);
    nodes = await chainPeers(dir, ['n1', 'n2', 'n3'], { blockMs: 500, blocksAgo: 40 });
    database = await throwawayDatabase('hotpot_check');
    await database.query('CREATE TABLE sales (id text PRIMARY KEY)');
    await Promise.all([server.start(), ...nodes.map((node) => node.start())]);
    configFile = join(dir, 'central.json');
    const init = await hotpot(
      'central', 'init', '--config', configFile,
      '--status-url', `http://127.0.0.1:${server.port}/api/status`,
      '--service', 'blockchain_project',
      '--database-url', database.url,
      ...nodes.flatMap((node) => ['--chain-node', `${node.name.replace('chain-', '')}=${node.url}`]),
      '--chain-service', 'chain-node',
      '--chain-height-path', 'chain.height', '--chain-hash-path', 'chain.lastBlockHash', '--chain-block-hash-path', 'block.hash',
      '--chat-webhook', 'http://127.0.0.1:9/hooks/ops',
      '--backup-dir', join(dir, 'backups'),
    );
    if (init.code !== 0) throw new Error(`central init failed: ${init.stderr}`);
    allowList = join(dir, 'systemd-units.allow');
    writeFileSync(allowList, (await hotpot('central', 'polkit', '--config', configFile, '--allow-list')).stdout);
  });

  afterAll(async () => {
    await Promise.all([server?.kill(), ...(nodes ?? []).map((node) => node.kill())]);
    await database?.drop();
  });

  it('probes each target once, prints each procedure\'s plan and exits 0 when all is up', async () => {
    const result = await hotpot('central', 'check', '--config', configFile, '--allow-list', allowList);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^main-server: UP — GET http:\/\/127\.0\.0\.1:\d+\/api\/status answered 200$/m);
    expect(result.stdout).toMatch(/^database: UP — database → 1; \/var\/lib\/postgresql|^database: UP — database → 1$/m);
    expect(result.stdout).toMatch(/^chain: UP — chain: /m);
    expect(result.stdout).toContain('Procedure "main-server" (target main-server) — dry run: nothing is executed.');
    expect(result.stdout).toMatch(/restart: run `systemctl restart blockchain_project`/);
    expect(result.stdout).toContain('restart blockchain_project.service: allowed by the polkit rule');
    expect(result.stdout).toMatch(/pg_dump: pg_dump \(PostgreSQL\)/);
    expect(result.stdout).toContain('notify: chat configured; contacts: administrator, on-duty');
    expect(result.stdout).toMatch(/all targets up, nothing missing\n$/);
    expect(result.code).toBe(0);
  });

  it('says which target is down and what is missing, and exits 1', async () => {
    await server.kill();
    await nodes[2]!.kill();
    writeFileSync(allowList, 'restart chain-node.service\n');
    try {
      const result = await hotpot('central', 'check', '--config', configFile, '--allow-list', allowList);
      expect(result.stdout).toMatch(/^main-server: DOWN — main server status probe failed: /m);
      expect(result.stdout).toMatch(/^chain: DOWN — chain: .*n3/m);
      expect(result.stdout).toMatch(/^database: UP/m);
      expect(result.stdout).toContain(`restart blockchain_project.service: NOT in ${allowList}`);
      expect(result.stdout).toMatch(/\d+ problem\(s\)/);
      expect(result.code).toBe(1);
    } finally {
      await Promise.all([server.start(), nodes[2]!.start()]);
    }
  });
});
