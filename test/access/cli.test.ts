import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withTimeout } from '../../lib/timeout.js';
import { HOTPOT_BIN, httpJson, startHotpot, tempDir, type HotpotProcess } from '../helpers/hotpot.js';
import { freePort, waitFor } from '../peers/net.js';

/** Runs `hotpot <args>` as an operator would, with `stdin` piped in. */
function hotpot(env: Record<string, string>, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [HOTPOT_BIN, ...args], { env: { ...process.env, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    }),
    30_000,
    `hotpot ${args.join(' ')}`,
  );
}

describe('hotpot user and hotpot token', () => {
  const running: HotpotProcess[] = [];
  afterEach(async () => {
    for (const child of running.splice(0)) await child.kill('SIGTERM');
  });

  it('manage users and tokens with central stopped or running; sessions and tokens end when they should', async () => {
    const env = { HOTPOT_DATA_DIR: join(tempDir('user-cli'), 'central'), HOTPOT_HTTP_PORT: String(await freePort()), HOTPOT_BROKER_HOST: '127.0.0.1', HOTPOT_BROKER_PORT: '0' };
    // Central not running: the first users go straight into its store.
    const added = await hotpot(env, ['user', 'add', 'nino', '--role', 'operator', '--password-stdin'], 'nino has a long password\n');
    expect(added).toMatchObject({ code: 0, stdout: 'added nino (operator)\n' });
    const generated = await hotpot(env, ['user', 'add', 'ada', '--role', 'admin']);
    expect(generated.code).toBe(0);
    const adaPassword = /password: (\S+)/.exec(generated.stdout)![1]!;
    expect(await hotpot(env, ['user', 'add', 'nino', '--role', 'viewer', '--password-stdin'], 'another long password')).toMatchObject({ code: 1, stderr: 'hotpot user: a user named nino exists already\n' });
    expect((await hotpot(env, ['user', 'add', 'eve', '--role', 'emperor'])).code).toBe(2);
    expect((await hotpot(env, ['user', 'add', 'short', '--role', 'viewer', '--password-stdin'], 'short')).stderr).toContain('at least 10 characters');

    const central = await startHotpot('central', env);
    running.push(central);
    const port = central.httpPort;
    const login = async (username: string, password: string) => httpJson(port, 'POST', '/api/login', { username, password }, { authorization: '' });
    const session = String((await login('nino', 'nino has a long password')).headers['set-cookie']).split(';')[0]!;
    expect((await login('ada', adaPassword)).status).toBe(200);
    const list = await hotpot(env, ['user', 'list']);
    expect(list.stdout).toMatch(/^ada\tadmin\tsince .+\nnino\toperator\tsince .+\n$/);

    // While central runs: a new password ends nino's session within seconds.
    expect((await hotpot(env, ['user', 'passwd', 'nino', '--password-stdin'], 'nino has a new password')).code).toBe(0);
    await waitFor(async () => (await httpJson(port, 'GET', '/api/me', undefined, { cookie: session })).status === 401, "nino's old session to end", 15_000);
    expect((await login('nino', 'nino has a new password')).status).toBe(200);

    const created = await hotpot(env, ['token', 'create', 'grafana', '--role', 'viewer']);
    const token = created.stdout.trim();
    expect(token).toMatch(/^hotpot\.grafana\.[A-Za-z0-9_-]{40,}$/);
    expect((await httpJson(port, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).body).toEqual({ username: 'grafana', role: 'viewer', kind: 'token' });
    expect((await hotpot(env, ['token', 'list'])).stdout).toContain('grafana\tviewer');
    expect((await hotpot(env, ['token', 'revoke', 'grafana'])).stdout).toBe('revoked grafana\n');
    await waitFor(async () => (await httpJson(port, 'GET', '/api/me', undefined, { authorization: `Bearer ${token}` })).status === 401, 'the revoked token to stop working', 15_000);

    expect((await hotpot(env, ['user', 'remove', 'nino'])).code).toBe(0);
    expect((await login('nino', 'nino has a new password')).status).toBe(401);
  });
});
