import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { backupsConfigSchema } from '../../central/backups/config.js';
import { findPgBinDir } from '../../central/backups/pg-tools.js';
import { BackupService } from '../../central/backups/service.js';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { RecoveryEngine } from '../../central/recovery/engine.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { mainServerPeer, type ManagedProcess } from '../peers/recovery-peers.js';
import { waitForProcedure } from './engine-helpers.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { adminQuery, throwawayDatabase } from '../peers/postgres.js';
import { centralTables } from '../helpers/central-db.js';

describeWithPeers('PostgreSQL runbook: restore the newest verified backup after approval', [peers.postgres()], () => {
  let dir: string;
  let db: Database.Database;
  let incidents: MemoryIncidents;
  let app: ManagedProcess;
  let database: Awaited<ReturnType<typeof throwawayDatabase>>;
  let engine: RecoveryEngine | undefined;
  let backups: BackupService | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-pg-runbook-'));
    db = centralTables(join(dir, 'central.db'));
    incidents = new MemoryIncidents();
    database = await throwawayDatabase('hotpot_rb');
    await adminQuery(
      `CREATE TABLE orders (id uuid PRIMARY KEY, point text NOT NULL, total integer NOT NULL);
       INSERT INTO orders SELECT md5(i::text)::uuid, 'batumi-0' || (i % 3), i * 150 FROM generate_series(1, 1000) AS i;
       CREATE TABLE menu (sku text PRIMARY KEY, price integer NOT NULL);
       INSERT INTO menu VALUES ('khinkali', 250), ('broth', 900);`,
      database.url,
    );
    app = await mainServerPeer(dir); // the main server: the app that uses the database
    await app.start();
  });

  afterEach(async () => {
    await engine?.stop();
    await backups?.stop();
    engine = undefined;
    backups = undefined;
    await app.kill();
    await database.drop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up and verifies, detects a dropped table, and after one approval stops the app, restores, starts it, checks integrity', async () => {
    backups = new BackupService({
      config: backupsConfigSchema.parse({
        dir: join(dir, 'backups'),
        postgres: { url: database.url, verify: { checks: [{ name: 'orders rows', query: 'SELECT count(*) FROM orders', min: 1000 }] } },
      }),
      db,
      incidents,
    });
    await backups.start();
    const backup = await backups.run('postgres');
    expect(backup.verify).toBe('passed');

    const pgIsReady = join(findPgBinDir(undefined), 'pg_isready');
    const config = recoveryConfigSchema.parse({
      procedures: {
        database: {
          probe: {
            every: '500ms',
            checks: [
              { type: 'postgres', name: 'connect', url: database.url },
              { type: 'postgres', name: 'orders table', url: database.url, query: "SELECT to_regclass('public.orders') IS NOT NULL" },
              { type: 'disk', path: dir, minFreePercent: 1 },
            ],
          },
          stages: [
            {
              name: 'diagnose',
              window: { to: '5m' },
              steps: [
                { type: 'probe', id: 'disk', probes: [{ type: 'disk', path: dir, minFreePercent: 5 }] },
                { type: 'probe', id: 'pg-isready', probes: [{ type: 'command', argv: [pgIsReady, '-h', '127.0.0.1', '-p', '5432'] }] },
              ],
            },
            {
              name: 'data-recovery',
              window: { to: '60m' },
              approval: true,
              steps: [
                { type: 'command', id: 'stop-app', argv: app.stopArgv() },
                { type: 'restore-backup', id: 'restore', url: database.url, timeoutMs: 120_000 },
                { type: 'command', id: 'start-app', argv: app.restartArgv(), after: { probes: [{ type: 'http', url: `http://127.0.0.1:${app.port}/api/status` }], timeoutMs: 20_000 } },
                { type: 'probe', id: 'integrity', probes: [{ type: 'postgres', name: 'orders rows', url: database.url, query: 'SELECT count(*) FROM orders', min: 1000 }], onFailure: 'next-stage' },
              ],
            },
          ],
        },
      },
    });
    engine = new RecoveryEngine({ config, db, incidents, backups });
    engine.start();
    await waitFor(() => engine!.health('database') === 'up', 'the database to be seen healthy', 20_000);
    const appPid = app.pid();

    await adminQuery('DROP TABLE orders', database.url);
    await waitForProcedure(engine, 'database', (p) => p.run?.status === 'awaiting-approval', 'the restore to wait for approval');
    const waiting = engine.procedures()[0]!.run!;
    expect(waiting.awaiting!.id).toBe('stage:data-recovery');
    expect(waiting.awaiting!.text).toContain(`restore backup ${backup.id}`);
    expect(app.pid()).toBe(appPid); // nothing was stopped before the approval
    expect(incidents.open.get('runbook:database')?.detail).toMatch(/orders table/);

    engine.approve(waiting.id, 'stage:data-recovery', 'tamar');
    await waitForProcedure(engine, 'database', (p) => p.lastRun?.status === 'resolved', 'the database run to resolve', 100_000);

    expect((await adminQuery('SELECT count(*)::int AS n, sum(total)::bigint AS sum FROM orders', database.url)).rows[0]).toEqual({ n: 1000, sum: '75075000' });
    expect((await adminQuery('SELECT count(*)::int AS n FROM menu', database.url)).rows[0]).toEqual({ n: 2 });
    expect(app.pid()).not.toBeNull();
    expect(app.pid()).not.toBe(appPid);
    expect(incidents.open.has('runbook:database')).toBe(false);

    const run = engine.runs()[0]!;
    const acts = run.steps.filter((s) => s.phase === 'act').map((s) => [s.stepId, s.ok, s.by]);
    expect(acts).toEqual([
      ['stop-app', true, 'tamar (approved)'],
      ['restore', true, 'tamar (approved)'],
      ['start-app', true, 'tamar (approved)'],
    ]);
    expect(run.steps.find((s) => s.stepId === 'integrity' && s.phase === 'probe')).toMatchObject({ ok: true, detail: expect.stringContaining('orders rows → "1000"') });
    expect(run.steps.find((s) => s.stepId === 'restore' && s.phase === 'act')!.detail).toMatch(/^restored: .*pg_restore.* exited 0/);
  });
});
