import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { judgeCredential, credentialIncident } from '../../central/access/credentials.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { centralPlugins } from '../../central/plugins.js';
import { brokerPasswordFile } from '../../central/broker/index.js';
import { generatePassword, writeLogins } from '../../tools/provision/index.js';
import { signInSuite } from '../helpers/auth.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { describeWithPeers } from '../helpers/peers.js';

const DAY = 86_400_000;
const POLICY = { maxAgeMs: 90 * DAY, certificateWarningMs: 30 * DAY };

describe('key age: the decisions', () => {
  it('a password is due at 90 days, a certificate 30 days before its notAfter and is critical once expired', () => {
    const password = { id: 'broker-password:p1', kind: 'broker-password', name: 'p1', pointId: 'p1', setAt: 0, source: 'first-seen' } as const;
    expect(judgeCredential(password, 90 * DAY - 1, POLICY).status).toBe('ok');
    const due = judgeCredential(password, 90 * DAY, POLICY);
    expect(due.status).toBe('rotate');
    expect(credentialIncident(due, 90 * DAY)).toMatchObject({ key: 'credential:broker-password:p1', severity: 'minor', pointId: 'p1' });
    const cert = { id: 'certificate:ca#0', kind: 'certificate', name: 'ca', setAt: 0, expiresAt: 100 * DAY, source: 'certificate' } as const;
    expect(judgeCredential(cert, 70 * DAY - 1, POLICY).status).toBe('ok');
    expect(credentialIncident(judgeCredential(cert, 70 * DAY, POLICY), 70 * DAY)).toMatchObject({ severity: 'major', title: 'Certificate expires in 30 days: ca' });
    expect(credentialIncident(judgeCredential(cert, 100 * DAY, POLICY), 100 * DAY)?.severity).toBe('critical');
  });
});

const openssl = { name: 'openssl', available: existsSync('/usr/bin/openssl'), install: 'apt-get install openssl' };

describeWithPeers('key age at a real central', [openssl], () => {
  const running: Central[] = [];
  afterEach(async () => {
    for (const central of running.splice(0)) await central.stop();
  });

  it('a point password older than 90 days opens its incident, rotation resolves it; certificates and declared secrets too', async () => {
    const dir = tempDir('key-age');
    const certFile = join(dir, 'client.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'client.key'), '-out', certFile, '-subj', '/CN=tbilisi-01', '-days', '40'], { stdio: 'ignore' });
    const clock = new ManualClock(Date.now());
    const config = loadCentralConfig(undefined, {}, {
      dataDir: join(dir, 'central'),
      http: { port: 0 },
      broker: { host: '127.0.0.1', port: 0 },
      recovery: { host: { enabled: false } },
      notify: { signingSecret: 'a signing secret of the franchise' },
      upstream: { token: 'main-server-token' },
      keys: { certificates: [dir], rotatedAt: { 'upstream.token': new Date(clock.now() - 10 * DAY).toISOString() } },
    });
    writeLogins(brokerPasswordFile(config), [{ username: 'tbilisi-01', password: generatePassword() }]);
    const central = new Central(config, { log: silentLogger(), clock, plugins: centralPlugins() });
    running.push(central);
    await central.start();
    // The suite's token is made after start: the next check sees it.
    await signInSuite(central);
    await central.keyAge.check();
    const port = central.httpPort!;
    const openKeys = () => central.incidents.active().map((incident) => incident.key).filter((key) => key.startsWith('credential:')).sort();
    type View = { credentials: { id: string; kind: string; status: string; ageMs: number; source: string }[] };
    const byId = async () => Object.fromEntries((await httpJson<View>(port, 'GET', '/api/credentials')).body.credentials.map((c) => [c.id, c]));

    const fresh = await byId();
    expect(Object.keys(fresh).sort()).toEqual(['api-token:suite-1', 'broker-password:tbilisi-01', `certificate:${certFile}#0`, 'secret:notify.signingSecret', 'secret:upstream.token']);
    expect(fresh['secret:upstream.token']).toMatchObject({ source: 'declared', status: 'ok' });
    expect(openKeys()).toEqual([]);

    // 11 days on: the certificate has 29 days left.
    clock.advance(11 * DAY);
    await central.keyAge.check();
    expect(openKeys()).toEqual([`credential:certificate:${certFile}#0`]);

    // 91 days after provisioning: the point's password, the token and the secrets are due; the certificate expired.
    clock.advance(80 * DAY);
    await central.keyAge.check();
    expect(openKeys()).toEqual(['credential:api-token:suite-1', 'credential:broker-password:tbilisi-01', `credential:certificate:${certFile}#0`, 'credential:secret:notify.signingSecret', 'credential:secret:upstream.token']);
    const point = central.incidents.openFor('credential:broker-password:tbilisi-01')!;
    expect(point).toMatchObject({ pointId: 'tbilisi-01', severity: 'minor' });
    expect(point.detail).toContain('provision-point --rotate');
    expect(central.incidents.openFor(`credential:certificate:${certFile}#0`)?.severity).toBe('critical');
    const metrics = (await httpJson<string>(port, 'GET', '/metrics')).body;
    expect(metrics).toMatch(/hotpot_credential_due\{credential="broker-password:tbilisi-01",kind="broker-password"\} 1/);
    expect(metrics).toMatch(/hotpot_credential_age_seconds\{credential="broker-password:tbilisi-01",kind="broker-password"\} 786\d{4}/);

    // Rotation (provision-point --rotate writes a new line): the incident resolves, the age starts again.
    writeLogins(brokerPasswordFile(config), [{ username: 'tbilisi-01', password: generatePassword() }]);
    await central.keyAge.check();
    expect(openKeys()).not.toContain('credential:broker-password:tbilisi-01');
    expect(central.incidents.get(point.id)?.status).toBe('resolved');
    expect((await byId())['broker-password:tbilisi-01']).toMatchObject({ status: 'ok', ageMs: 0 });

    // Only admins see the inventory.
    const viewer = await central.access.createToken('viewer-token', 'viewer');
    expect((await httpJson(port, 'GET', '/api/credentials', undefined, { authorization: `Bearer ${viewer}` })).status).toBe(403);
  });
});
