import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { provisionCa, provisionPoint } from '../../tools/provision/index.js';
import { startAgent } from '../helpers/inproc.js';
import { tempDir } from '../helpers/hotpot.js';

const POINT = 'zugdidi-05';

/** GET over HTTPS trusting only the franchise CA (a tablet that installed it). */
function getTrusting(ca: Buffer, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('HTTPS request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** `provision-point --server-cert` and `http.tls`: the box's page and API over HTTPS, under the franchise CA. */
describe('agent HTTPS (http.tls) with a certificate provision-point issued', () => {
  const dir = tempDir('agent-https');
  const caDir = join(dir, 'ca');
  const pointDir = join(dir, POINT);
  let agent: Agent;

  beforeAll(async () => {
    await provisionCa(caDir);
    const point = await provisionPoint({ pointId: POINT, outDir: pointDir, brokerUrl: 'mqtt://127.0.0.1:1', caDir, serverCertNames: ['localhost', '127.0.0.1'] });
    expect(point.files.httpsCert).toBe(join(pointDir, 'https.crt'));
    const written = JSON.parse(readFileSync(point.files.agentConfig, 'utf8')) as { http: { tls: unknown } };
    expect(written.http.tls).toEqual({ cert: '/etc/hotpot/https.crt', key: '/etc/hotpot/https.key' });
    agent = await startAgent(dir, POINT, 'mqtt://127.0.0.1:1', { http: { port: 0, tlsPort: 0, tls: { cert: point.files.httpsCert, key: point.files.httpsKey } } });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('serves the page and the API over HTTPS to a client trusting only the franchise CA, and plain HTTP still', async () => {
    const ca = readFileSync(join(caDir, 'ca.crt'));
    const health = await getTrusting(ca, agent.httpsPort!, '/api/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ pointId: POINT });
    expect((await getTrusting(ca, agent.httpsPort!, '/')).body).toContain('<html');
    expect(agent.httpPort).toBeGreaterThan(0);
  });

  it('stops at config time naming http.tls.* when a file is missing, not PEM, or not the pair', () => {
    const load = (tls: { cert: string; key: string }) => () => loadAgentConfig(undefined, {}, { pointId: POINT, http: { tls } });
    const cert = join(pointDir, 'https.crt');
    const key = join(pointDir, 'https.key');
    expect(load({ cert: join(dir, 'nope.crt'), key })).toThrow(/http\.tls\.cert: cannot read .*ENOENT.*--server-cert/);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    expect(load({ cert: junk, key })).toThrow(/http\.tls\.cert: .* is not a PEM certificate/);
    expect(load({ cert, key: junk })).toThrow(/http\.tls\.key: .* is not a PEM private key/);
    expect(load({ cert, key: join(caDir, 'ca.key') })).toThrow(/http\.tls\.key: .* is not the key of/);
    expect(load({ cert, key })().http.tls).toEqual({ cert, key });
  });
});
