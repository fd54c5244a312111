import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Router, listen, type StartedServer } from '../../lib/http.js';
import { silentLogger } from '../../lib/log.js';
import { backupsConfigSchema } from '../../central/backups/config.js';
import { BackupService } from '../../central/backups/service.js';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { RecoveryEngine } from '../../central/recovery/engine.js';
import { registerRecoveryRoutes } from '../../central/recovery/http.js';
import { RunbookAudit } from '../../central/recovery/audit.js';
import { SecurityProcedure } from '../../central/recovery/security.js';
import { systemClock } from '../../lib/clock.js';
import { registerBackupRoutes } from '../../central/backups/http.js';
import { pluginRoutes } from '../../central/plugin-host.js';
import type { RouteMeta } from '../../central/plugin.js';
import { freePort, waitFor } from '../peers/net.js';
import { waitForProcedure } from './engine-helpers.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { centralTables } from '../helpers/central-db.js';

describe('recovery HTTP API', () => {
  let dir: string;
  let db: Database.Database;
  let engine: RecoveryEngine;
  let backups: BackupService | null;
  let server: StartedServer;
  let base: string;

  /** Requests signed as `user`: central's access gate (tested in test/access) sets who it is; here a hook stands in for it. */
  const call = async (method: string, path: string, body?: unknown, user = 'ops') => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-test-user': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & Array<Record<string, unknown>> };
  };

  async function startWith(withBackups: boolean) {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-recovery-http-'));
    db = centralTables(join(dir, 'central.db'));
    const incidents = new MemoryIncidents();
    const marker = join(dir, 'backup-server-started');
    const config = recoveryConfigSchema.parse({
      procedures: {
        'main-server': {
          // nothing listens there: the main server is down for the whole test
          probe: { every: '500ms', checks: [{ type: 'http', url: `http://127.0.0.1:${await freePort()}/api/status`, timeoutMs: 1000 }] },
          stages: [
            {
              name: 'failover',
              steps: [{ type: 'command', id: 'start-backup', argv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'up')`], destructive: true }],
            },
          ],
        },
      },
    });
    engine = new RecoveryEngine({ config, db, incidents });
    writeFileSync(join(dir, 'central.json'), '{}');
    const cloud = join(dir, 'cloud');
    mkdirSync(cloud);
    const target = { type: 'command', name: 'cloud', remote: cloud, copy: ['cp', '{file}', '{remote}/'], list: ['ls', '-l', '{remote}'], delete: ['rm', '{remote}/{name}'], fetch: ['cp', '{remote}/{name}', '{file}'] };
    const kind = { paths: [join(dir, 'central.json')], targets: [{ type: 'local' }, target], drill: {} };
    backups = withBackups ? new BackupService({ config: backupsConfigSchema.parse({ dir: join(dir, 'backups'), config: kind }), db, incidents }) : null;
    await backups?.start();
    const router = new Router<RouteMeta>();
    router.addHook((req) => void (req.principal = { name: String(req.headers['x-test-user']), role: 'admin', kind: 'user' }));
    const security = new SecurityProcedure({ audit: new RunbookAudit(db), incidents, clock: systemClock, log: silentLogger(), approvals: 1, revokeBrokerLogin: undefined, connected: () => false });
    registerRecoveryRoutes(pluginRoutes(router, 'recovery', '/api/runbooks'), engine, security);
    registerBackupRoutes(pluginRoutes(router, 'backups', '/api/backups'), backups);
    server = await listen(router, '127.0.0.1', 0, silentLogger());
    base = `http://127.0.0.1:${server.port}`;
    engine.start();
    return marker;
  }

  beforeEach(() => {
    backups = null;
  });
  afterEach(async () => {
    await server.close();
    await engine.stop();
    await backups?.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists procedures and runs, approves a destructive step, and refuses bad approvals clearly', async () => {
    const marker = await startWith(false);
    await waitForProcedure(engine, 'main-server', (p) => p.run?.status === 'awaiting-approval', 'the failover to wait for approval', 30_000);

    const list = await call('GET', '/api/runbooks');
    expect(list.status).toBe(200);
    const procedure = list.body[0]!;
    expect(procedure).toMatchObject({ name: 'main-server', health: 'down', run: { status: 'awaiting-approval', awaiting: { id: 'start-backup' } } });
    const runId = (procedure.run as { id: string }).id;

    const bad = await call('POST', `/api/runbooks/runs/${runId}/approve`, { stepId: '' });
    expect(bad.status).toBe(400);
    expect((bad.body.issues as Array<{ path: string }>).map((i) => i.path).sort()).toEqual(['stepId']);
    expect((await call('POST', `/api/runbooks/runs/${runId}/approve`, { stepId: 'other', by: 'ops' })).status).toBe(409);
    expect((await call('POST', '/api/runbooks/runs/no-such-run/approve', { stepId: 'start-backup', by: 'ops' })).status).toBe(404);
    expect(existsSync(marker)).toBe(false);

    // The approver is who signed in; a `by` in the body is ignored.
    const ok = await call('POST', `/api/runbooks/runs/${runId}/approve`, { stepId: 'start-backup', by: 'forged' }, 'lasha');
    expect(ok.status).toBe(200);
    // writeFileSync creates the file before it writes: wait for what it wrote, not for the name.
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8') === 'up', 'the approved failover command to write its marker', 20_000);

    const runs = await call('GET', '/api/runbooks/runs?limit=5');
    expect(runs.status).toBe(200);
    const steps = runs.body[0]!.steps as Array<{ phase: string; by: string; stepId: string }>;
    expect(steps).toEqual(expect.arrayContaining([expect.objectContaining({ phase: 'approval', by: 'lasha', stepId: 'start-backup' })]));
    expect((await call('GET', '/api/runbooks/runs?limit=zero')).status).toBe(400);
  });

  it('answers a dry run with the plan as text, and 404 for an unknown procedure', async () => {
    await startWith(false);
    const dry = await call('POST', '/api/runbooks/main-server/dry-run');
    expect(dry.status).toBe(200);
    expect(dry.body.plan).toMatch(/start-backup: run `.*` .*\[destructive\] — WAITS FOR APPROVAL/);
    expect((await call('POST', '/api/runbooks/nope/dry-run')).status).toBe(404);
  });

  it('lists backups and starts one on request', async () => {
    await startWith(false);
    expect((await call('GET', '/api/backups')).body).toMatchObject({ backups: [], configured: false });
    expect((await call('POST', '/api/backups/run', { kind: 'config' })).status).toBe(400);
  });

  it('runs a configured backup kind in the background and shows it in the list', async () => {
    await startWith(true);
    expect((await call('POST', '/api/backups/run', { kind: 'tapes' })).status).toBe(400);
    expect((await call('POST', '/api/backups/run', { kind: 'logs' })).body.error).toMatch(/backups\.logs is not configured/);
    const started = await call('POST', '/api/backups/run', { kind: 'config', tier: 'monthly' });
    expect(started.status).toBe(202);
    await waitFor(async () => ((await call('GET', '/api/backups')).body.running as unknown[]).length === 0, 'the backup to finish', 20_000);
    const listed = (await call('GET', '/api/backups')).body.backups as Array<Record<string, unknown>>;
    expect(listed[0]).toMatchObject({ id: started.body.id, kind: 'config', tier: 'monthly', status: 'ok', offsite: 'ok' });
    // a restore drill by hand, from the off-site copy
    expect((await call('POST', '/api/backups/drill', { kind: 'logs' })).body.error).toMatch(/backups\.logs\.drill is not configured/);
    expect((await call('POST', '/api/backups/drill', { kind: 'config' })).status).toBe(202);
    await waitFor(async () => ((await call('GET', '/api/backups')).body.drills as unknown[]).length === 1, 'the drill', 20_000);
    expect(((await call('GET', '/api/backups')).body.drills as unknown[])[0]).toMatchObject({ kind: 'config', ok: true, backupId: started.body.id, target: 'cloud' });
  });
});
