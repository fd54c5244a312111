import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderStore } from '../../agent/store.js';
import { centralConfigSchema } from '../../central/config.js';
import { provisionCa, provisionPoint } from '../../tools/provision/index.js';
import { installer, INSTALL, makeFixtureApp, makeRoot, notRootOnly, run, snapshot, tempDir, removeTempDirs, type RunResult } from './fixtures.js';

// Each install lays ~80 MB of node_modules: removing them all takes a while on a busy disk.
afterAll(removeTempDirs, 300_000);

/**
 * An environment with no npm registry and no compiler: npm, node-gyp and the C toolchain are
 * stand-ins that note they were called and fail, and npm's registry is an address nobody answers.
 */
function offline(): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const shims = tempDir('offline');
  const log = join(shims, 'called');
  for (const program of ['npm', 'npx', 'node-gyp', 'cc', 'gcc', 'g++', 'c++', 'make']) {
    writeFileSync(join(shims, program), `#!/bin/sh\necho ${program} "$@" >>${log}\nexit 1\n`);
    chmodSync(join(shims, program), 0o755);
  }
  return {
    // This test's own node first (CI runs the suite under several), then the system's programs.
    env: { PATH: `${shims}:${dirname(process.execPath)}:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin`, npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true' },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

async function ok(result: Promise<RunResult>): Promise<string> {
  const r = await result;
  if (r.code !== 0) throw new Error(`exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A small bundle in install/bundle.sh's layout around a fixture app (no real dependencies), for
 * what the installer must refuse or must carry out without reading the app: `change` alters it
 * before SHA256SUMS is written, `afterSums` after.
 */
async function miniBundle(build: string, options: { change?: (dir: string) => void; afterSums?: (dir: string) => void } = {}): Promise<string> {
  const work = tempDir('mini');
  const dir = makeFixtureApp(join(work, 'hotpot-edge'), build);
  mkdirSync(join(dir, 'node_modules/left-pad'), { recursive: true });
  writeFileSync(join(dir, 'node_modules/left-pad/index.js'), 'module.exports = (s) => s;\n');
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ name: 'hotpot-edge', version: '1.0.0', node: process.version, nodeAbi: process.versions.modules, platform: process.platform, arch: process.arch }));
  options.change?.(dir);
  await ok(run('bash', ['-c', 'cd "$1" && find . -type f ! -name SHA256SUMS -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >SHA256SUMS', 'sums', dir]));
  options.afterSums?.(dir);
  const out = join(tempDir('mini-out'), `hotpot-edge-${build}.tar.gz`);
  await ok(run('tar', ['-C', work, '-czf', out, 'hotpot-edge']));
  return out;
}

/**
 * Runs an installer twice with no registry and no compiler: the second run changes nothing (every
 * file's content, mode, owner and mtime), npm and the compilers were never called, and the app is
 * root's alone. Resolves to the first run's output.
 */
async function installTwice(script: 'agent.sh' | 'central.sh', root: string, args: string[], net: ReturnType<typeof offline>): Promise<string> {
  const first = await ok(installer(script, args, net.env));
  const afterFirst = snapshot(root);
  expect(await ok(installer(script, args, net.env))).toContain('nothing to change');
  expect([...snapshot(root).entries()]).toEqual([...afterFirst.entries()]);
  expect(net.calls()).toEqual([]);
  expect(notRootOnly(join(root, 'opt/hotpot'))).toEqual([]);
  return first;
}

describe('release bundles: built once, installed with no registry and no compiler', () => {
  let bundle: string;

  beforeAll(async () => {
    const out = tempDir('release');
    await ok(run('bash', [join(INSTALL, 'bundle.sh'), '--out', out], 300_000));
    const name = readdirSync(out).find((file) => file.endsWith('.tar.gz'))!;
    bundle = join(out, name);
  }, 300_000);

  it('names its Node ABI and platform, and carries checksums of every file', async () => {
    expect(bundle).toMatch(new RegExp(`hotpot-edge-\\d+\\.\\d+\\.\\d+-${process.platform}-${process.arch}-node${process.versions.modules}\\.tar\\.gz$`));
    expect(readFileSync(`${bundle}.sha256`, 'utf8')).toMatch(/^[0-9a-f]{64} {2}hotpot-edge-.*\.tar\.gz\n$/);
    const listing = (await ok(run('tar', ['-tzf', bundle]))).split('\n');
    for (const file of ['hotpot-edge/bundle.json', 'hotpot-edge/SHA256SUMS', 'hotpot-edge/dist/bin/hotpot.js', 'hotpot-edge/node_modules/better-sqlite3/package.json', 'hotpot-edge/agent/page/static/index.html']) {
      expect(listing).toContain(file);
    }
    // Production dependencies only.
    expect(listing.some((file) => file.startsWith('hotpot-edge/node_modules/vitest/'))).toBe(false);
    expect(listing.some((file) => file.startsWith('hotpot-edge/node_modules/typescript/'))).toBe(false);
  });

  it('installs a box twice, offline: the second run changes nothing; the app runs and opens SQLite', async () => {
    const root = makeRoot();
    const ca = join(tempDir('ca'), 'ca');
    await provisionCa(ca);
    const point = await provisionPoint({ pointId: 'point-b', outDir: join(tempDir('point'), 'point-b'), brokerUrl: 'mqtts://mqtt.hotpot.example:8883', caDir: ca });
    const net = offline();
    const args = ['--root', root, '--bundle', bundle, '--point-dir', point.outDir];
    expect(await installTwice('agent.sh', root, args, net)).toContain('installed the app in /opt/hotpot');

    const app = join(root, 'opt/hotpot');
    expect(JSON.parse(readFileSync(join(app, 'bundle.json'), 'utf8'))).toMatchObject({ nodeAbi: process.versions.modules, platform: process.platform, arch: process.arch });
    expect(await ok(run(process.execPath, [join(app, 'dist/bin/hotpot.js'), '--help'], 60_000, net.env))).toContain('provision-point');
    const sqlite = `const D = require("node:module").createRequire(${JSON.stringify(`${app}/package.json`)})("better-sqlite3"); process.stdout.write(String(new D(":memory:").prepare("SELECT 41 + 1 AS n").get().n));`;
    expect(await ok(run(process.execPath, ['-e', sqlite], 60_000, net.env))).toBe('42');
  });

  it("installs central twice, offline, with the runbook: procedures in central.json, a polkit rule for exactly the units they restart", async () => {
    const root = makeRoot();
    const ca = join(tempDir('ca'), 'ca');
    await provisionCa(ca);
    const net = offline();
    const args = [
      '--root', root, '--bundle', bundle, '--ca-dir', ca,
      '--status-url', 'http://10.0.0.5/api/status', '--service', 'blockchain_project',
      '--database-url', 'postgres://app@127.0.0.1:5432/main',
      '--chain-node', 'n1=http://10.0.1.1:3001', '--chain-node', 'n2=http://10.0.1.2:3001', '--chain-node', 'n3=http://10.0.1.3:3001',
      '--chain-service', 'chain-node',
    ];
    expect(await installTwice('central.sh', root, args, net)).toContain("wrote the runbook's procedures, backups and contacts into /etc/hotpot/central.json");

    const config = centralConfigSchema.parse(JSON.parse(readFileSync(join(root, 'etc/hotpot/central.json'), 'utf8')));
    expect(config.mqtt.username).toBe('hotpot-central');
    expect(Object.keys(config.recovery.procedures).sort()).toEqual(['chain', 'database', 'main-server']);
    expect(readFileSync(join(root, 'etc/hotpot/systemd-units.allow'), 'utf8')).toBe(
      'restart blockchain_project.service\nstart blockchain_project.service\nstop blockchain_project.service\nrestart postgresql.service\n',
    );
    const rule = readFileSync(join(root, 'etc/polkit-1/rules.d/50-hotpot-central.rules'), 'utf8');
    const decide = (verb: string, unit: string, user = 'hotpot') => {
      const rules: ((action: unknown, subject: unknown) => string)[] = [];
      runInNewContext(rule, { polkit: { Result: { YES: 'yes', NO: 'no', NOT_HANDLED: 'not handled' }, addRule: (fn: (a: unknown, s: unknown) => string) => rules.push(fn) } });
      return rules[0]!({ id: 'org.freedesktop.systemd1.manage-units', lookup: (key: string) => ({ verb, unit })[key] }, { user });
    };
    expect(decide('restart', 'blockchain_project.service')).toBe('yes');
    expect(decide('restart', 'mosquitto.service')).toBe('no');
    expect(decide('restart', 'blockchain_project.service', 'nobody')).toBe('not handled');

    // The chain nodes are on other hosts: their restarts go over ssh and are no business of this rule.
    expect(decide('restart', 'chain-node.service')).toBe('no');
    await ok(installer('central.sh', ['--root', root, '--uninstall'], net.env));
    expect(existsSync(join(root, 'etc/polkit-1/rules.d/50-hotpot-central.rules'))).toBe(false);
  });

  it('upgrades from a bundle only while the outbox is synced (or with --force)', async () => {
    const root = makeRoot();
    const point = await provisionPoint({ pointId: 'point-a', outDir: join(tempDir('point'), 'point-a'), brokerUrl: 'mqtt://10.0.0.1:1883' });
    const net = offline();
    await ok(installer('agent.sh', ['--root', root, '--bundle', bundle, '--point-dir', point.outDir], net.env));
    mkdirSync(join(root, 'var/lib/hotpot'), { recursive: true });
    const store = new OrderStore(join(root, 'var/lib/hotpot/agent.db'), 'point-a');
    store.addOrder({ items: [{ sku: 'khinkali', name: 'Khinkali', unitPrice: 150, qty: 2, lineTotal: 300 }], payment: 'cash', note: null, clientRef: null, currency: 'GEL', mode: 'offline' });
    store.close();

    const next = await miniBundle('next release');
    const refused = await installer('agent.sh', ['--root', root, '--bundle', next], net.env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/1 order\(s\) .* not synced to central yet.*--force/);
    expect(readFileSync(join(root, 'opt/hotpot/dist/bin/hotpot.js'), 'utf8')).not.toContain('next release');
    expect(await ok(installer('agent.sh', ['--root', root, '--bundle', next, '--force'], net.env))).toContain('installed the app');
    expect(readFileSync(join(root, 'opt/hotpot/dist/bin/hotpot.js'), 'utf8')).toContain('fixture build next release');
    expect(net.calls()).toEqual([]);
  });

  it('refuses a damaged bundle, and one built for another Node ABI, changing nothing', async () => {
    const root = makeRoot();
    const point = await provisionPoint({ pointId: 'point-c', outDir: join(tempDir('point'), 'point-c'), brokerUrl: 'mqtt://10.0.0.1:1883' });
    const net = offline();
    const attempt = (file: string) => installer('agent.sh', ['--root', root, '--bundle', file, '--point-dir', point.outDir], net.env);

    const altered = await miniBundle('altered', { afterSums: (dir) => writeFileSync(join(dir, 'dist/bin/hotpot.js'), '// altered\n') });
    expect((await attempt(altered)).stderr).toMatch(/a file inside does not match its SHA256SUMS/);
    const wrongSidecar = await miniBundle('sidecar');
    writeFileSync(`${wrongSidecar}.sha256`, `${'0'.repeat(64)}  hotpot-edge-sidecar.tar.gz\n`);
    expect((await attempt(wrongSidecar)).stderr).toMatch(/does not match .*\.sha256: a damaged or altered download/);
    const otherAbi = await miniBundle('other-abi', {
      change: (dir) => writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ name: 'hotpot-edge', version: '1.0.0', node: 'v0.1.0', nodeAbi: '1', platform: process.platform, arch: process.arch })),
    });
    expect((await attempt(otherAbi)).stderr).toMatch(/was built for Node ABI 1 on .*\(v0\.1\.0\); .* is v\d+.*ABI \d+/);
    expect((await attempt(join(tempDir('none'), 'missing.tar.gz'))).stderr).toMatch(/--bundle .*missing\.tar\.gz: no such file/);
    expect(existsSync(join(root, 'opt/hotpot'))).toBe(false);
  });
});
