import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unitRuntime } from '../helpers/unit-runtime.js';
import { OrderStore } from '../../agent/store.js';
import { centralConfigSchema } from '../../central/config.js';
import { agentConfigSchema } from '../../agent/config.js';
import { provisionCa, provisionPoint } from '../../tools/provision/index.js';
import { installer, makeFixtureApp, makeRoot, modeOf, notRootOnly, ownAsOrdinaryUser, REPO, run, snapshot, tempDir, removeTempDirs } from './fixtures.js';

afterAll(removeTempDirs);

const AS_ROOT = process.getuid?.() === 0;

function accountLine(root: string, file: 'passwd' | 'group', name: string): string[] | undefined {
  return readFileSync(join(root, 'etc', file), 'utf8')
    .split('\n')
    .find((line) => line.startsWith(`${name}:`))
    ?.split(':');
}

/** `systemd-analyze verify` on a generated unit: exit 0 and not a single complaint. */
async function expectUnitVerifies(unit: string): Promise<void> {
  const result = await run('systemd-analyze', ['verify', unit]);
  expect({ code: result.code, output: (result.stdout + result.stderr).trim() }).toEqual({ code: 0, output: '' });
}

/** Runs an installer that must succeed; its closing count must match the changes it listed. */
async function expectOk(result: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await result;
  if (r.code !== 0) throw new Error(`installer exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  const listed = r.stdout.split('\n').filter((line) => line.includes(': changed: ')).length;
  const total = /done: (\d+) change/.exec(r.stdout)?.[1];
  expect(total === undefined ? 0 : Number(total)).toBe(listed);
  return r.stdout;
}

function addUnsyncedOrder(root: string): OrderStore {
  const store = new OrderStore(join(root, 'var/lib/hotpot/agent.db'), 'point-a');
  store.addOrder({ items: [{ sku: 'khinkali', name: 'Khinkali', unitPrice: 150, qty: 10, lineTotal: 1500 }], payment: 'cash', note: null, clientRef: null, currency: 'GEL', mode: 'offline' });
  return store;
}

describe('install/agent.sh into a temporary root', () => {
  let root: string;
  let app: string;
  let pointDir: string;
  let firstRun: string;
  let secondRun: string;
  let afterFirst: Map<string, string>;
  let afterSecond: Map<string, string>;
  const args = () => ['--root', root, '--source', app, '--point-dir', pointDir];

  beforeAll(async () => {
    root = makeRoot();
    app = makeFixtureApp(tempDir('app'), 'v1');
    // From a built checkout, node_modules sits next to dist/: the installer reads agent.db with it.
    symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
    ownAsOrdinaryUser(app);
    const ca = join(tempDir('ca'), 'ca');
    await provisionCa(ca);
    pointDir = (await provisionPoint({ pointId: 'point-a', outDir: join(tempDir('point'), 'point-a'), brokerUrl: 'mqtts://mqtt.hotpot.example:8883', caDir: ca, clientCert: true })).outDir;
    firstRun = await expectOk(installer('agent.sh', args()));
    afterFirst = snapshot(root);
    secondRun = await expectOk(installer('agent.sh', args()));
    afterSecond = snapshot(root);
  });

  it('lays out the app, config, data dir and unit', () => {
    expect(firstRun).toMatch(/done: \d+ change/);
    expect(readFileSync(join(root, 'opt/hotpot/dist/bin/hotpot.js'), 'utf8')).toContain('fixture build v1');
    expect(existsSync(join(root, 'opt/hotpot/package-lock.json'))).toBe(true);
    // `prepare` (a TypeScript build) would fail on a box; the installer strips it before npm ci.
    expect(JSON.parse(readFileSync(join(root, 'opt/hotpot/package.json'), 'utf8')).scripts?.prepare).toBeUndefined();
    expect(readFileSync(join(root, 'etc/hotpot/agent.json'), 'utf8')).toBe(readFileSync(join(pointDir, 'agent.json'), 'utf8'));
    expect(modeOf(join(root, 'etc/hotpot/agent.json'))).toBe('0600');
    expect(modeOf(join(root, 'etc/hotpot/client.key'))).toBe('0600');
    expect(existsSync(join(root, 'etc/hotpot/ca.crt'))).toBe(true);
    expect(modeOf(join(root, 'var/lib/hotpot'))).toBe('0750');
    const unit = readFileSync(join(root, 'etc/systemd/system/hotpot-agent.service'), 'utf8');
    expect(unit).not.toMatch(/@[A-Z_]+@/);
    expect(unit).toMatch(/^ExecStart=\/\S*node --max-semi-space-size=1 \/opt\/hotpot\/dist\/bin\/hotpot\.js agent --config \/etc\/hotpot\/agent\.json$/m);
    expect(unit).toMatch(/^Environment=MALLOC_ARENA_MAX=1$/m);
    // The benchmark runs the agent as this unit does: it reads the same flags from the template.
    expect(unitRuntime('hotpot-agent')).toEqual({ nodeArgs: ['--max-semi-space-size=1'], env: { NODE_ENV: 'production', MALLOC_ARENA_MAX: '1' } });
    for (const line of ['Type=notify', 'NotifyAccess=all', 'Restart=always', 'Wants=network-online.target', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/hotpot', 'PrivateTmp=yes', 'DevicePolicy=closed', 'DeviceAllow=char-ttyUSB rw', 'DeviceAllow=char-video4linux rw']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^WatchdogSec=\d+s$/m);
    expect(unit).toMatch(/^After=.*\bnetwork-online\.target\b/m);
    expect(unit).toMatch(/^RestartSec=\d+s$/m);
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/hotpot-agent.service'))).toBe('/etc/systemd/system/hotpot-agent.service');
  });

  it('asks the disks through a root oneshot on a timer (hotpot-smart), writing no sudoers rule', () => {
    const service = readFileSync(join(root, 'etc/systemd/system/hotpot-smart.service'), 'utf8');
    const timer = readFileSync(join(root, 'etc/systemd/system/hotpot-smart.timer'), 'utf8');
    expect(service + timer).not.toMatch(/@[A-Z_]+@/);
    expect(service).toMatch(/^ExecStart=\/\S*node \/opt\/hotpot\/dist\/bin\/hotpot\.js smart-report --out \/var\/lib\/hotpot-smart\/smart\.json --timeout \d+s$/m);
    // Root, sandboxed: the two capabilities asking a disk takes, whole disks read-only, no network.
    for (const line of ['Type=oneshot', 'StateDirectory=hotpot-smart', 'StateDirectoryMode=0755', 'CapabilityBoundingSet=CAP_SYS_RAWIO CAP_SYS_ADMIN', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateNetwork=yes', 'DevicePolicy=closed', 'DeviceAllow=block-sd r', 'DeviceAllow=block-blkext r']) {
      expect(service.split('\n')).toContain(line);
    }
    expect(service).not.toMatch(/^(User|ReadWritePaths)=/m);
    // The agent reads the report where the service writes it; it stays sandboxed, with no way to root.
    const agentUnit = readFileSync(join(root, 'etc/systemd/system/hotpot-agent.service'), 'utf8');
    for (const line of ['NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'DevicePolicy=closed']) expect(agentUnit.split('\n')).toContain(line);
    expect(agentConfigSchema.parse({ pointId: 'point-a' }).checks.hardware.smartReport).toBe('/var/lib/hotpot-smart/smart.json');
    for (const line of ['OnBootSec=2min', 'OnUnitActiveSec=6h', 'WantedBy=timers.target']) expect(timer.split('\n')).toContain(line);
    expect(readlinkSync(join(root, 'etc/systemd/system/timers.target.wants/hotpot-smart.timer'))).toBe('/etc/systemd/system/hotpot-smart.timer');
    expect(firstRun).toContain('enabled hotpot-smart.timer');
    expect(existsSync(join(root, 'etc/sudoers.d'))).toBe(false);
    expect(firstRun).not.toContain('sudoers');
  });

  it('removes the sudoers rule an older installer wrote', async () => {
    const old = join(root, 'etc/sudoers.d/hotpot-smartctl');
    mkdirSync(join(root, 'etc/sudoers.d'), { recursive: true });
    writeFileSync(old, 'hotpot ALL=(root) NOPASSWD: /usr/sbin/smartctl -H /dev/sd[a-z]\n', { mode: 0o440 });
    expect(await expectOk(installer('agent.sh', args()))).toContain('removed /etc/sudoers.d/hotpot-smartctl');
    expect(existsSync(old)).toBe(false);
  });

  it.runIf(AS_ROOT)('creates the hotpot system user in the dialout, video and lp groups, and owns its files', () => {
    const user = accountLine(root, 'passwd', 'hotpot')!;
    expect(user).toBeDefined();
    expect(Number(user[2])).toBeLessThan(1000); // a system account
    for (const group of ['dialout', 'video', 'lp']) expect(accountLine(root, 'group', group)![3]!.split(',')).toContain('hotpot');
    expect(afterFirst.get(join(root, 'etc/hotpot/agent.json'))).toContain(` ${user[2]}:${user[3]} `);
    expect(afterFirst.get(join(root, 'var/lib/hotpot'))).toContain(` ${user[2]}:${user[3]} `);
    expect(afterFirst.get(join(root, 'opt/hotpot/dist/bin/hotpot.js'))).toContain(' 0:0 ');
  });

  it("leaves the app root's and writable by no one else, though an ordinary user owned the checkout", () => {
    expect(notRootOnly(join(root, 'opt/hotpot'))).toEqual([]);
  });

  it('changes nothing on a second run', () => {
    expect(secondRun).toContain('nothing to change');
    expect([...afterSecond.entries()]).toEqual([...afterFirst.entries()]);
  });

  it('generates units that systemd-analyze verify accepts', async () => {
    for (const unit of ['hotpot-agent.service', 'hotpot-smart.service', 'hotpot-smart.timer']) await expectUnitVerifies(join(root, 'etc/systemd/system', unit));
  });

  it('takes back an app an older installer left to the checkout owner', async () => {
    const file = join(root, 'opt/hotpot/dist/bin/hotpot.js');
    chmodSync(file, 0o666);
    if (AS_ROOT) chownSync(file, 1000, 1000);
    const out = await expectOk(installer('agent.sh', args()));
    expect(out).toContain("made /opt/hotpot root's and writable by no one else (/opt/hotpot/dist/bin/hotpot.js was not)");
    expect(notRootOnly(join(root, 'opt/hotpot'))).toEqual([]);
  });

  it('installs the udev printer rule for the given USB ids', async () => {
    const out = await expectOk(installer('agent.sh', [...args(), '--printer-usb-id', '0416:5011']));
    expect(out).toContain('wrote /etc/udev/rules.d/99-hotpot-printer.rules');
    const rule = readFileSync(join(root, 'etc/udev/rules.d/99-hotpot-printer.rules'), 'utf8');
    expect(rule).toContain('ATTRS{idVendor}=="0416", ATTRS{idProduct}=="5011", SYMLINK+="hotpot-printer"');
    expect(rule).not.toMatch(/@[A-Z]+@/);
    const bad = await installer('agent.sh', [...args(), '--printer-usb-id', 'epson']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('VVVV:PPPP');
  });

  it('refuses to upgrade while the outbox holds unsynced orders, unless --force', async () => {
    const upgradeRoot = makeRoot();
    const v1 = makeFixtureApp(tempDir('app'), 'v1');
    symlinkSync(join(REPO, 'node_modules'), join(v1, 'node_modules'));
    await expectOk(installer('agent.sh', ['--root', upgradeRoot, '--source', v1, '--point-dir', pointDir]));
    const store = addUnsyncedOrder(upgradeRoot);
    const order = store.list('unsynced')[0]!.order;
    store.close();

    writeFileSync(join(v1, 'dist/bin/hotpot.js'), '// fixture build v2\n');
    const refused = await installer('agent.sh', ['--root', upgradeRoot, '--source', v1]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/1 order\(s\) .* not synced to central yet.*--force/);
    expect(readFileSync(join(upgradeRoot, 'opt/hotpot/dist/bin/hotpot.js'), 'utf8')).toContain('v1');

    // A re-run of the same release is no upgrade: it goes through.
    writeFileSync(join(v1, 'dist/bin/hotpot.js'), `// fixture build v1\nprocess.exit(0);\n`);
    expect(await expectOk(installer('agent.sh', ['--root', upgradeRoot, '--source', v1]))).toContain('nothing to change');

    writeFileSync(join(v1, 'dist/bin/hotpot.js'), '// fixture build v2\n');
    const forced = await expectOk(installer('agent.sh', ['--root', upgradeRoot, '--source', v1, '--force']));
    expect(forced).toContain('installed the app');
    expect(readFileSync(join(upgradeRoot, 'opt/hotpot/dist/bin/hotpot.js'), 'utf8')).toContain('v2');
    expect(readFileSync(join(upgradeRoot, 'opt/hotpot.previous/dist/bin/hotpot.js'), 'utf8')).toContain('v1');

    // Once central has acked everything, a plain upgrade goes through.
    const synced = new OrderStore(join(upgradeRoot, 'var/lib/hotpot/agent.db'), 'point-a');
    synced.markSynced([order.id]);
    synced.close();
    writeFileSync(join(v1, 'dist/bin/hotpot.js'), '// fixture build v3\n');
    await expectOk(installer('agent.sh', ['--root', upgradeRoot, '--source', v1]));
    expect(readFileSync(join(upgradeRoot, 'opt/hotpot/dist/bin/hotpot.js'), 'utf8')).toContain('v3');
  });

  it('needs a provisioned config on the first install', async () => {
    const bare = makeRoot();
    const result = await installer('agent.sh', ['--root', bare, '--source', app]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--point-dir');
  });

  it('uninstalls the service and app but keeps config and orders; --purge refuses while orders are unsynced', async () => {
    const gone = makeRoot();
    await expectOk(installer('agent.sh', ['--root', gone, '--source', app, '--point-dir', pointDir]));
    addUnsyncedOrder(gone).close();
    const out = await expectOk(installer('agent.sh', ['--root', gone, '--uninstall']));
    expect(out).toContain('kept /etc/hotpot and /var/lib/hotpot');
    expect(existsSync(join(gone, 'opt/hotpot'))).toBe(false);
    expect(existsSync(join(gone, 'etc/systemd/system/hotpot-agent.service'))).toBe(false);
    expect(existsSync(join(gone, 'etc/systemd/system/multi-user.target.wants/hotpot-agent.service'))).toBe(false);
    for (const unit of ['hotpot-smart.service', 'hotpot-smart.timer', 'timers.target.wants/hotpot-smart.timer']) expect(existsSync(join(gone, 'etc/systemd/system', unit))).toBe(false);
    expect(existsSync(join(gone, 'etc/hotpot/agent.json'))).toBe(true);
    expect(existsSync(join(gone, 'var/lib/hotpot/agent.db'))).toBe(true);
    expect(await expectOk(installer('agent.sh', ['--root', gone, '--uninstall']))).toContain('nothing to change');

    const purge = await installer('agent.sh', ['--root', gone, '--uninstall', '--purge']);
    expect(purge.code).not.toBe(0);
    expect(purge.stderr).toContain('not synced to central yet');
    expect(existsSync(join(gone, 'var/lib/hotpot/agent.db'))).toBe(true);
    await expectOk(installer('agent.sh', ['--root', gone, '--uninstall', '--purge', '--force']));
    expect(existsSync(join(gone, 'var/lib/hotpot'))).toBe(false);
    expect(existsSync(join(gone, 'etc/hotpot'))).toBe(false);
    if (AS_ROOT) expect(accountLine(gone, 'passwd', 'hotpot')).toBeUndefined();
  });
});

describe('install/central.sh into a temporary root', () => {
  let root: string;
  let ca: string;
  let firstRun: string;
  let afterFirst: Map<string, string>;
  let secondRun: string;
  let afterSecond: Map<string, string>;

  beforeAll(async () => {
    root = makeRoot();
    const app = makeFixtureApp(tempDir('app'), 'central');
    ownAsOrdinaryUser(app);
    ca = join(tempDir('ca'), 'ca');
    await provisionCa(ca);
    const args = ['--root', root, '--source', app, '--ca-dir', ca];
    firstRun = await expectOk(installer('central.sh', args));
    afterFirst = snapshot(root);
    secondRun = await expectOk(installer('central.sh', args));
    afterSecond = snapshot(root);
  });

  it("writes central.json joining the local broker as hotpot-central, and the broker's files", () => {
    expect(firstRun).toMatch(/done: \d+ change/);
    const config = centralConfigSchema.parse(JSON.parse(readFileSync(join(root, 'etc/hotpot/central.json'), 'utf8')));
    expect(config.mqtt).toMatchObject({ url: 'mqtts://127.0.0.1:8883', username: 'hotpot-central', ca: '/etc/hotpot/ca.crt' });
    expect(config.mqtt.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(modeOf(join(root, 'etc/hotpot/central.json'))).toBe('0600');
    const passwd = readFileSync(join(root, 'etc/mosquitto/hotpot/passwd'), 'utf8');
    expect(passwd).toMatch(/^hotpot-central:\$7\$101\$/m);
    expect(passwd).not.toContain(config.mqtt.password!);
    for (const file of ['passwd', 'acl', 'server.key']) expect(modeOf(join(root, 'etc/mosquitto/hotpot', file))).toBe('0640');
    const conf = readFileSync(join(root, 'etc/mosquitto/conf.d/hotpot.conf'), 'utf8');
    for (const line of ['listener 8883', 'allow_anonymous false', 'password_file /etc/mosquitto/hotpot/passwd', 'acl_file /etc/mosquitto/hotpot/acl', 'cafile /etc/mosquitto/hotpot/ca.crt']) {
      expect(conf.split('\n')).toContain(line);
    }
    expect(conf).toMatch(/^max_queued_messages \d{5,}$/m);
    const acl = readFileSync(join(root, 'etc/mosquitto/hotpot/acl'), 'utf8');
    expect(acl).toContain('pattern readwrite hotpot/v1/points/%u/#');
    expect(readFileSync(join(root, 'etc/hotpot/ca.crt'), 'utf8')).toBe(readFileSync(join(ca, 'ca.crt'), 'utf8'));
  });

  it.runIf(AS_ROOT)('gives the broker files to the mosquitto group, which Mosquitto reads them through', () => {
    const mosquitto = accountLine(root, 'group', 'mosquitto');
    if (!mosquitto) return; // this host has no mosquitto package: the files stay root's
    expect(afterFirst.get(join(root, 'etc/mosquitto/hotpot/server.key'))).toContain(` 0:${mosquitto[2]} `);
    expect(afterFirst.get(join(root, 'etc/mosquitto/hotpot/passwd'))).toContain(` 0:${mosquitto[2]} `);
  });

  it("leaves the app root's and writable by no one else, though an ordinary user owned the checkout", () => {
    expect(notRootOnly(join(root, 'opt/hotpot'))).toEqual([]);
  });

  it('changes nothing on a second run, and keeps the generated password', () => {
    expect(secondRun).toContain('nothing to change');
    expect([...afterSecond.entries()]).toEqual([...afterFirst.entries()]);
  });

  it('generates a unit that systemd-analyze verify accepts', async () => {
    const unit = join(root, 'etc/systemd/system/hotpot-central.service');
    expect(readFileSync(unit, 'utf8')).toMatch(/^ExecStart=\/\S*node \/opt\/hotpot\/dist\/bin\/hotpot\.js central --config \/etc\/hotpot\/central\.json$/m);
    await expectUnitVerifies(unit);
  });

  it('uninstalls the service, app and broker config, keeping the CA and the password file', async () => {
    await expectOk(installer('central.sh', ['--root', root, '--uninstall', '--purge']));
    expect(existsSync(join(root, 'opt/hotpot'))).toBe(false);
    expect(existsSync(join(root, 'etc/mosquitto/conf.d/hotpot.conf'))).toBe(false);
    expect(existsSync(join(root, 'etc/hotpot/central.json'))).toBe(false);
    expect(existsSync(join(root, 'etc/mosquitto/hotpot/passwd'))).toBe(true);
    expect(existsSync(join(ca, 'ca.key'))).toBe(true);
  });
});
