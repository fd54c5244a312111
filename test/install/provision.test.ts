import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config.js';
import { CommandError } from '../../lib/cli.js';
import { caFiles, mosquittoPasswordLine, provisionCa, provisionCaCommand, provisionPoint, provisionPointCommand, upsertPasswordFile } from '../../tools/provision/index.js';
import { modeOf, REPO, run, tempDir, removeTempDirs } from './fixtures.js';

afterAll(removeTempDirs);

describe('hotpot provision-ca', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tempDir('ca'), 'ca');
    const result = await provisionCa(dir, ['mqtt.hotpot.example', '10.1.2.3']);
    expect(result.created).toEqual(['ca', 'server']);
  });

  it('makes a CA and a broker certificate it signed, for loopback and the given names', () => {
    const files = caFiles(dir);
    const ca = new X509Certificate(readFileSync(files.caCert));
    const server = new X509Certificate(readFileSync(files.serverCert));
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('mqtt.hotpot.example')).toBe('mqtt.hotpot.example');
    expect(server.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(server.checkHost('other.example')).toBeUndefined();
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    // Boxes run for years: the broker certificate must not lapse within a few.
    expect(new Date(server.validTo).getTime() - Date.now()).toBeGreaterThan(5 * 365 * 86_400_000);
  });

  it('keeps private keys unreadable by others', () => {
    expect(modeOf(dir)).toBe('0700');
    expect(modeOf(caFiles(dir).caKey)).toBe('0600');
    expect(modeOf(caFiles(dir).serverKey)).toBe('0600');
  });

  it('never overwrites an existing CA on a second run', async () => {
    const before = readFileSync(caFiles(dir).caKey, 'utf8');
    const again = await provisionCa(dir);
    expect(again.created).toEqual([]);
    expect(readFileSync(caFiles(dir).caKey, 'utf8')).toBe(before);
  });

  it('runs as a command and rejects a bad server name without writing anything', async () => {
    const out = join(tempDir('ca-cmd'), 'ca');
    await expect(provisionCaCommand.run({ out, 'server-name': ['bad name!'] }, [])).rejects.toThrow(/server-name/);
    expect(existsSync(out)).toBe(false);
    expect(await provisionCaCommand.run({ out }, [])).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['ca.crt', 'ca.key', 'server.crt', 'server.key']);
  });
});

describe('hotpot provision-point', () => {
  let ca: string;
  beforeAll(async () => {
    ca = join(tempDir('point-ca'), 'ca');
    await provisionCa(ca);
  });

  it("writes a valid agent.json with a strong password, the point's password line and the CA", async () => {
    const out = join(tempDir('point'), 'tbilisi-1');
    const point = await provisionPoint({ pointId: 'tbilisi-1', outDir: out, brokerUrl: 'mqtts://mqtt.hotpot.example:8883', caDir: ca });
    const raw = JSON.parse(readFileSync(point.files.agentConfig, 'utf8')) as unknown;
    const config = agentConfigSchema.parse(raw);
    expect(config.pointId).toBe('tbilisi-1');
    expect(config.mqtt).toMatchObject({ url: 'mqtts://mqtt.hotpot.example:8883', username: 'tbilisi-1', ca: '/etc/hotpot/ca.crt' });
    expect(config.dataDir).toBe('/var/lib/hotpot');
    expect(config.checks.internet.targets).toEqual(['tcp://mqtt.hotpot.example:8883']);
    expect(config.mqtt.password).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits
    expect(modeOf(point.files.agentConfig)).toBe('0600');
    expect(modeOf(out)).toBe('0700');
    const line = readFileSync(point.files.passwordLine, 'utf8').trim();
    expect(line).toMatch(/^tbilisi-1:\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/);
    expect(line).not.toContain(config.mqtt.password!);
    expect(readFileSync(point.files.ca!, 'utf8')).toBe(readFileSync(caFiles(ca).caCert, 'utf8'));
    expect(point.files.clientCert).toBeUndefined();
  });

  it('issues a client certificate from the franchise CA with --cert', async () => {
    const out = join(tempDir('point'), 'batumi-2');
    const point = await provisionPoint({ pointId: 'batumi-2', outDir: out, brokerUrl: 'mqtts://127.0.0.1:8883', caDir: ca, clientCert: true });
    const cert = new X509Certificate(readFileSync(point.files.clientCert!));
    expect(cert.checkIssued(new X509Certificate(readFileSync(caFiles(ca).caCert)))).toBe(true);
    expect(cert.subject).toContain('CN=batumi-2');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
    expect(modeOf(point.files.clientKey!)).toBe('0600');
    // The agent presents them from where install/agent.sh puts them.
    const config = agentConfigSchema.parse(JSON.parse(readFileSync(point.files.agentConfig, 'utf8')));
    expect(config.mqtt).toMatchObject({ ca: '/etc/hotpot/ca.crt', cert: '/etc/hotpot/client.crt', key: '/etc/hotpot/client.key' });
  });

  it('matches mosquitto_passwd byte for byte given the same salt', async () => {
    const dir = tempDir('passwd');
    const file = join(dir, 'passwd');
    writeFileSync(file, 'kutaisi-3:correct horse battery staple\n');
    const result = await run('mosquitto_passwd', ['-U', file]);
    if (result.code !== 0) throw new Error(`mosquitto_passwd failed: ${result.stderr}`);
    const theirs = readFileSync(file, 'utf8').trim();
    const salt = Buffer.from(theirs.split('$')[3]!, 'base64');
    expect(mosquittoPasswordLine('kutaisi-3', 'correct horse battery staple', salt)).toBe(theirs);
  });

  it('replaces only the rotated point in a shared password file', () => {
    const file = join(tempDir('passwd'), 'passwd');
    upsertPasswordFile(file, mosquittoPasswordLine('a', 'one'));
    upsertPasswordFile(file, mosquittoPasswordLine('ab', 'two'));
    const rotated = mosquittoPasswordLine('a', 'three');
    upsertPasswordFile(file, rotated);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines).toContain(rotated);
    expect(lines.some((l) => l.startsWith('ab:'))).toBe(true);
    expect(modeOf(file)).toBe('0640');
  });

  it('refuses to re-provision without --rotate, and rotates with it', async () => {
    const out = join(tempDir('point'), 'rustavi-1');
    const passwd = join(tempDir('passwd'), 'passwd');
    const first = await provisionPoint({ pointId: 'rustavi-1', outDir: out, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: passwd });
    const firstConfig = readFileSync(first.files.agentConfig, 'utf8');
    expect(JSON.parse(firstConfig).mqtt.ca).toBeUndefined(); // plain mqtt:// needs no CA
    await expect(provisionPoint({ pointId: 'rustavi-1', outDir: out, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: passwd })).rejects.toThrow(/--rotate/);
    expect(readFileSync(first.files.agentConfig, 'utf8')).toBe(firstConfig);
    await provisionPoint({ pointId: 'rustavi-1', outDir: out, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: passwd, rotate: true });
    expect(readFileSync(first.files.agentConfig, 'utf8')).not.toBe(firstConfig);
    expect(readFileSync(passwd, 'utf8').trim().split('\n')).toEqual([readFileSync(first.files.passwordLine, 'utf8').trim()]);
  });

  it('rejects bad input with an error naming the field, writing nothing', async () => {
    const parent = tempDir('point');
    const attempt = (pointId: string, extra: Record<string, unknown> = {}) =>
      provisionPoint({ pointId, outDir: join(parent, 'x'), brokerUrl: 'mqtts://h:8883', caDir: ca, ...extra });
    await expect(attempt('Bad_Id')).rejects.toThrow(/pointId/);
    await expect(attempt('hotpot-central')).rejects.toThrow(/central's own broker user/);
    await expect(attempt('ok-1', { caDir: join(parent, 'no-ca') })).rejects.toThrow(/provision-ca/);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('runs as a command: a missing --broker-url or pointId is a clear error', async () => {
    const parent = tempDir('point-cmd');
    await expect(provisionPointCommand.run({ 'ca-dir': ca }, ['gori-1'])).rejects.toThrow(CommandError);
    await expect(provisionPointCommand.run({ 'ca-dir': ca }, ['gori-1'])).rejects.toThrow(/--broker-url/);
    await expect(provisionPointCommand.run({ 'broker-url': 'mqtts://h:8883', 'ca-dir': ca }, [])).rejects.toThrow(/pointId/);
    const code = await provisionPointCommand.run({ 'broker-url': 'mqtts://h:8883', 'ca-dir': ca, out: join(parent, 'gori-1'), cert: true }, ['gori-1']);
    expect(code).toBe(0);
    expect(readdirSync(join(parent, 'gori-1')).sort()).toEqual(['agent.json', 'ca.crt', 'client.crt', 'client.key', 'mosquitto.passwd']);
  });

  it('refuses a second provisioning into another directory while the password file has the point, unless --rotate', async () => {
    const passwd = join(tempDir('passwd'), 'passwd');
    const first = await provisionPoint({ pointId: 'zugdidi-1', outDir: join(tempDir('point'), 'zugdidi-1'), brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: passwd });
    const before = readFileSync(passwd, 'utf8');
    const elsewhere = join(tempDir('point'), 'zugdidi-1');
    await expect(provisionPoint({ pointId: 'zugdidi-1', outDir: elsewhere, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: passwd })).rejects.toThrow(/already has a login in .*--rotate/);
    expect(existsSync(elsewhere)).toBe(false);
    expect(readFileSync(passwd, 'utf8')).toBe(before);
    expect(readFileSync(passwd, 'utf8').trim()).toBe(readFileSync(first.files.passwordLine, 'utf8').trim());
  });

  it('checks --passwd-file before writing anything', async () => {
    const parent = tempDir('point');
    const out = join(parent, 'poti-1');
    writeFileSync(join(parent, 'a-file'), '');
    await expect(provisionPoint({ pointId: 'poti-1', outDir: out, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: join(parent, 'a-file', 'central', 'broker.passwd') })).rejects.toThrow(/a-file is not a directory/);
    await expect(provisionPoint({ pointId: 'poti-1', outDir: out, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: parent })).rejects.toThrow(/not a regular file/);
    expect(readdirSync(parent)).toEqual(['a-file']);
    // Central's data dir before its first start: made, with the file.
    const first = join(parent, 'data', 'central', 'broker.passwd');
    expect(await provisionPoint({ pointId: 'poti-1', outDir: out, brokerUrl: 'mqtt://10.0.0.1:1883', passwordFile: first })).toMatchObject({ passwordFileUpdated: first, passwordFileCreated: true });
    expect(readFileSync(first, 'utf8')).toMatch(/^poti-1:\$7\$/);
  });

  it('rotation keeps the rest of agent.json and the client certificate; --cert renews the certificate', async () => {
    const out = join(tempDir('point'), 'telavi-1');
    const first = await provisionPoint({ pointId: 'telavi-1', outDir: out, brokerUrl: 'mqtts://127.0.0.1:8883', caDir: ca, clientCert: true });
    const edited = JSON.parse(readFileSync(first.files.agentConfig, 'utf8')) as Record<string, unknown>;
    edited.checks = { ...(edited.checks as object), printer: { interface: 'tcp://192.168.1.50:9100' } };
    edited.language = 'ka';
    writeFileSync(first.files.agentConfig, JSON.stringify(edited));
    const firstCert = readFileSync(first.files.clientCert!, 'utf8');

    const rotated = await provisionPoint({ pointId: 'telavi-1', outDir: out, brokerUrl: 'mqtts://127.0.0.1:8883', caDir: ca, rotate: true });
    const config = agentConfigSchema.parse(JSON.parse(readFileSync(rotated.files.agentConfig, 'utf8')));
    expect(config.mqtt).toMatchObject({ cert: '/etc/hotpot/client.crt', key: '/etc/hotpot/client.key', ca: '/etc/hotpot/ca.crt' });
    expect(config.mqtt.password).not.toBe((edited.mqtt as { password: string }).password);
    expect(config.checks.printer.interface).toBe('tcp://192.168.1.50:9100');
    expect(config.language).toBe('ka');
    expect(readFileSync(rotated.files.clientCert!, 'utf8')).toBe(firstCert);

    const renewed = await provisionPoint({ pointId: 'telavi-1', outDir: out, brokerUrl: 'mqtts://127.0.0.1:8883', caDir: ca, rotate: true, clientCert: true });
    expect(readFileSync(renewed.files.clientCert!, 'utf8')).not.toBe(firstCert);
    expect(new X509Certificate(readFileSync(renewed.files.clientCert!)).subject).toContain('CN=telavi-1');
  });

  it('prints a failure as one line, without a stack, and writes nothing', async () => {
    const parent = tempDir('point-cli');
    const out = join(parent, 'mestia-1');
    writeFileSync(join(parent, 'not-a-dir'), '');
    const result = await run('node', [join(REPO, 'dist/bin/hotpot.js'), 'provision-point', 'mestia-1', '--broker-url', 'mqtt://10.0.0.1:1883', '--out', out, '--passwd-file', join(parent, 'not-a-dir', 'passwd')]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^hotpot provision-point: --passwd-file .*not-a-dir\/passwd: .*not-a-dir is not a directory$/)]);
    expect(existsSync(out)).toBe(false);
    const usage = await run('node', [join(REPO, 'dist/bin/hotpot.js'), 'provision-point', 'mestia-1']);
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim().split('\n')).toEqual(['hotpot provision-point: --broker-url: is required, e.g. --broker-url mqtts://mqtt.example.ge:8883']);
  });
});
