import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { backupsConfigSchema } from '../../central/backups/config.js';
import { BackupService } from '../../central/backups/service.js';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { RecoveryEngine, type RestoredBackup } from '../../central/recovery/engine.js';
import type { BackupRecord } from '../../central/backups/store.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { centralTables } from '../helpers/central-db.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { adminQuery, throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { waitForProcedure } from './engine-helpers.js';

describeWithPeers('restore hooks: what runs after a restore-backup step, audited in the run', [peers.postgres()], () => {
  let dir: string;
  let db: Database.Database;
  let database: ThrowawayDatabase;
  let backups: BackupService;
  let backup: BackupRecord;
  let engine: RecoveryEngine | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-restore-hook-'));
    db = centralTables(join(dir, 'central.db'));
    database = await throwawayDatabase('hotpot_restore_hook');
    await adminQuery('CREATE TABLE sales (sale_id text PRIMARY KEY); INSERT INTO sales VALUES (\'s-1\'), (\'s-2\');', database.url);
    backups = new BackupService({ config: backupsConfigSchema.parse({ dir: join(dir, 'backups'), postgres: { url: database.url } }), db, incidents: new MemoryIncidents() });
    await backups.start();
    backup = await backups.run('postgres');
    expect(backup.verify).toBe('passed');
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await backups.stop();
    await database.drop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A procedure that restores as soon as the sales table is gone. */
  function restoring(step: Record<string, unknown> = {}) {
    return recoveryConfigSchema.parse({
      procedures: {
        database: {
          probe: { every: '300ms', checks: [{ type: 'postgres', name: 'sales table', url: database.url, query: "SELECT to_regclass('public.sales') IS NOT NULL" }] },
          stages: [{ name: 'data-recovery', steps: [{ type: 'restore-backup', id: 'restore', url: database.url, auto: true, ...step }] }],
        },
      },
    });
  }

  async function breakAndRestore(config: ReturnType<typeof restoring>, hooks: (engine: RecoveryEngine) => void) {
    engine = new RecoveryEngine({ config, db, incidents: new MemoryIncidents(), backups });
    hooks(engine);
    engine.start();
    await waitForProcedure(engine, 'database', (p) => p.health === 'up', 'the database seen healthy', 20_000);
    await adminQuery('DROP TABLE sales', database.url);
    await waitForProcedure(engine, 'database', (p) => p.lastRun?.status === 'resolved', 'the restore run to resolve', 60_000);
    return engine.runs({ procedure: 'database' })[0]!;
  }

  it('each hook hears the backup and when its dump was taken; its detail (or its failure) is a line of the run', async () => {
    const heard: RestoredBackup[] = [];
    const run = await breakAndRestore(restoring(), (e) => {
      e.onRestored('books', async (restored) => {
        heard.push(restored);
        return { count: 3, detail: 're-forwarded 3 order(s)' };
      });
      e.onRestored('broken', async () => {
        throw new Error('the forward state is unreachable');
      });
      const unregister = e.onRestored('gone', async () => ({ count: 0, detail: 'never' }));
      unregister();
    });
    expect(heard).toEqual([{ procedure: 'database', runId: run.id, backupId: backup.id, url: database.url, takenAt: backup.startedAt }]);
    // In the order they started: the restore, then each hook's line.
    const steps = run.steps.filter((step) => step.stepId === 'restore' && ['act', 'after-restore'].includes(step.phase)).map((step) => [step.phase, step.ok, step.detail]);
    expect(steps).toEqual([
      ['act', true, expect.stringMatching(/^restored: /)],
      ['after-restore', true, 're-forwarded 3 order(s)'],
      ['after-restore', false, 'broken failed after the restore: the forward state is unreachable'],
    ]);
    expect(run.steps.find((step) => step.phase === 'after-restore')!.what).toBe(`books after restoring backup ${backup.id} (dump taken ${new Date(backup.startedAt).toISOString()})`);
    expect((await adminQuery('SELECT count(*)::int AS n FROM sales', database.url)).rows[0]).toEqual({ n: 2 });
  });

  it('`reforward: false` on the step runs no hook', async () => {
    const heard: RestoredBackup[] = [];
    const run = await breakAndRestore(restoring({ reforward: false }), (e) => {
      e.onRestored('books', async (restored) => {
        heard.push(restored);
        return { count: 0, detail: '' };
      });
    });
    expect(heard).toEqual([]);
    expect(run.steps.filter((step) => step.phase === 'after-restore')).toEqual([]);
    expect(run.steps.find((step) => step.stepId === 'restore' && step.phase === 'act')).toMatchObject({ ok: true });
  });
});
