import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { backupsConfigSchema } from '../../central/backups/config.js';
import { findPgBinDir } from '../../central/backups/pg-tools.js';
import { BackupService, sha256File } from '../../central/backups/service.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { adminQuery, throwawayDatabase } from '../peers/postgres.js';
import { backupSandbox } from './sandbox.js';

const HOUR = 3_600_000;

describeWithPeers('backups (real PostgreSQL, pg_dump, tar)', [peers.postgres()], () => {
  let source: Awaited<ReturnType<typeof throwawayDatabase>>;
  const box = backupSandbox('hotpot-backups-');
  let service: BackupService;

  beforeAll(async () => {
    source = await throwawayDatabase('hotpot_bk');
    await adminQuery(
      `CREATE TABLE orders (id serial PRIMARY KEY, point text NOT NULL, total integer NOT NULL);
       INSERT INTO orders (point, total) SELECT 'tbilisi-0' || (i % 5), i * 100 FROM generate_series(1, 1000) AS i;`,
      source.url,
    );
  });
  afterAll(() => source.drop());


  const configFor = (extra: Record<string, unknown> = {}) =>
    backupsConfigSchema.parse({
      dir: join(box.dir, 'backups'),
      postgres: { url: source.url, verify: { checks: [{ name: 'orders restored', query: 'SELECT count(*) FROM orders', min: 1000 }] } },
      ...extra,
    });

  const databaseExists = async (name: string) => (await adminQuery(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).rowCount === 1;

  it('dumps with pg_dump -Fc, writes a sha256, proves the dump restores, drops the scratch database, copies offsite', async () => {
    const offsite = join(box.dir, 'offsite');
    mkdirSync(offsite);
    const target = { type: 'command', name: 'nas', remote: offsite, copy: ['cp', '{file}', '{checksumFile}', '{remote}/'], list: ['ls', '-l', '{remote}'], delete: ['rm', '{remote}/{name}'] };
    service = box.use(new BackupService({ config: configFor({ postgres: { url: source.url, verify: { checks: [{ name: 'orders restored', query: 'SELECT count(*) FROM orders', min: 1000 }] }, targets: [{ type: 'local' }, target] } }), db: box.db, incidents: box.incidents }));
    await service.start();
    const backup = await service.run('postgres', 'test');

    expect(backup).toMatchObject({ kind: 'postgres', status: 'ok', verify: 'passed', offsite: 'ok', by: 'test' });
    expect(backup.verifyDetail).toContain('orders restored: "1000" ok');
    expect(readFileSync(backup.file).subarray(0, 5).toString()).toBe('PGDMP'); // custom format
    const sumLine = readFileSync(`${backup.file}.sha256`, 'utf8');
    expect(sumLine).toBe(`${await sha256File(backup.file)}  ${basename(backup.file)}\n`);
    expect(backup.sha256).toBe(sumLine.split(' ')[0]);
    expect(readdirSync(offsite).sort()).toEqual([basename(backup.file), `${basename(backup.file)}.sha256`].sort());
    const scratch = /scratch database (hotpot_verify_\w+)/.exec(backup.verifyDetail!)![1]!;
    expect(await databaseExists(scratch)).toBe(false);

    const overview = service.overview();
    expect(overview.backups[0]!.id).toBe(backup.id);
    expect(overview.newestVerified?.id).toBe(backup.id);
    expect(overview.newestVerified!.ageHours).toBeLessThan(1);
    expect(service.newestVerified('postgres')?.id).toBe(backup.id);
    expect(box.incidents.open.size).toBe(0);
  });

  it('marks a dump whose integrity checks fail as unverified and raises an incident', async () => {
    const config = configFor();
    config.postgres!.verify.checks = [{ name: 'impossible row count', query: 'SELECT count(*) FROM orders', min: 1_000_000 }];
    service = box.use(new BackupService({ config, db: box.db, incidents: box.incidents }));
    await service.start();
    const backup = await service.run('postgres');
    expect(backup).toMatchObject({ status: 'ok', verify: 'failed' });
    expect(backup.verifyDetail).toContain('impossible row count: "1000" FAILED');
    expect(service.newestVerified('postgres')).toBeNull();
    expect(box.incidents.open.get('backups:postgres')?.detail).toMatch(/verification failed/);
  });

  it('fails cleanly, with an incident, when the database cannot be dumped', async () => {
    const config = configFor();
    config.postgres!.url = 'postgres://postgres:pw-should-hide@127.0.0.1:5432/hotpot_no_such_database_zz';
    service = box.use(new BackupService({ config, db: box.db, incidents: box.incidents }));
    await service.start();
    const backup = await service.run('postgres');
    expect(backup).toMatchObject({ status: 'failed', verify: 'skipped' });
    expect(backup.error).toMatch(/pg_dump.*exited 1/);
    expect(backup.error).not.toContain('pw-should-hide');
    expect(existsSync(`${backup.file}.partial`)).toBe(false);
    expect(box.incidents.open.get('backups:postgres')?.detail).toContain('failed');
  });

  it('tars config and logs with paths relative to their folders', async () => {
    const etc = join(box.dir, 'etc');
    const logs = join(box.dir, 'logs');
    mkdirSync(etc);
    mkdirSync(logs);
    writeFileSync(join(etc, 'central.json'), '{"http":{"port":8080}}');
    writeFileSync(join(logs, 'central.log'), 'line 1\n');
    service = box.use(new BackupService({ config: configFor({ config: { paths: [join(etc, 'central.json')] }, logs: { paths: [logs] } }), db: box.db, incidents: box.incidents }));
    await service.start();
    const configBackup = await service.run('config');
    const logsBackup = await service.run('logs');
    expect(configBackup).toMatchObject({ status: 'ok', verify: 'skipped' });
    expect(execFileSync('tar', ['-tzf', configBackup.file]).toString().trim()).toBe('central.json');
    expect(execFileSync('tar', ['-tzf', logsBackup.file]).toString().split('\n')).toContain('logs/central.log');
  });

  it('keeps each kind for its retention, never deleting the newest good backup', async () => {
    const clock = new ManualClock(Date.now());
    const etc = join(box.dir, 'etc.json');
    writeFileSync(etc, '{}');
    service = box.use(new BackupService({ config: configFor({ config: { paths: [etc], targets: [{ type: 'local', retentionDays: 2 }] } }), db: box.db, incidents: box.incidents, clock }));
    await service.start();
    const first = await service.run('config');
    clock.advance(HOUR);
    const second = await service.run('config');
    clock.advance(3 * 24 * HOUR);
    const third = await service.run('config');
    expect(existsSync(first.file)).toBe(false);
    expect(existsSync(`${first.file}.sha256`)).toBe(false);
    expect(existsSync(second.file)).toBe(false);
    expect(existsSync(third.file)).toBe(true);
    expect(service.overview().backups.map((b) => b.id)).toEqual([third.id]);
    // the newest verified dump outlives its retention while newer dumps fail verification
    const verified = await service.run('postgres');
    expect(verified.verify).toBe('passed');
    clock.advance(20 * 24 * HOUR);
    await service.stop();
    const strict = configFor();
    strict.postgres!.verify.checks = [{ name: 'impossible', query: 'SELECT count(*) FROM orders', min: 1_000_000 }];
    service = box.use(new BackupService({ config: strict, db: box.db, incidents: box.incidents, clock }));
    await service.start();
    const unverified = await service.run('postgres');
    expect(unverified.verify).toBe('failed');
    clock.advance(20 * 24 * HOUR);
    await service.run('postgres');
    expect(existsSync(verified.file)).toBe(true);
    expect(existsSync(unverified.file)).toBe(false);
    expect(service.newestVerified('postgres')?.id).toBe(verified.id);
  });

  it('runs on its cron schedule and alerts when the newest verified backup is older than 26 h', async () => {
    const start = Date.UTC(2031, 4, 10, 2, 59, 30);
    const clock = new ManualClock(start);
    service = box.use(new BackupService({ config: configFor({ postgres: { url: source.url, schedules: { daily: { cron: '0 3 * * *' } } } }), db: box.db, incidents: box.incidents, clock }));
    await service.start();
    expect(service.overview().schedules).toEqual([
      { kind: 'postgres', tiers: [{ tier: 'daily', cron: '0 3 * * *', retentionDays: 7, nextAt: Date.UTC(2031, 4, 10, 3, 0, 0) }], targets: [{ name: 'local', type: 'local', retentionDays: 7, tiers: ['daily', 'weekly', 'monthly'] }], drill: null },
    ]);
    service.tick();
    expect(service.overview().running).toEqual([]);
    clock.set(Date.UTC(2031, 4, 10, 3, 0, 1));
    service.tick();
    expect(service.overview().running).toMatchObject([{ kind: 'postgres' }]);
    await waitFor(() => service.overview().running.length === 0, 'the scheduled backup to finish', 60_000);
    const backup = service.overview().backups[0]!;
    expect(backup).toMatchObject({ by: 'schedule', verify: 'passed' });
    expect(service.overview().schedules[0]!.tiers[0]!.nextAt).toBe(Date.UTC(2031, 4, 11, 3, 0, 0));

    clock.set(backup.finishedAt! + 25 * HOUR);
    service.tick(); // tomorrow's 03:00 backup is due too; let it run, then look at the alert
    await waitFor(() => service.overview().running.length === 0, 'the next scheduled backup', 60_000);
    expect(box.incidents.open.has('backups:stale')).toBe(false);

    const newest = service.overview().newestVerified!;
    clock.set(newest.finishedAt + 27 * HOUR - 1);
    await service.stop(); // no more schedule runs: only the age check matters now
    service = box.use(new BackupService({ config: configFor(), db: box.db, incidents: box.incidents, clock }));
    await service.start();
    service.tick();
    expect(box.incidents.open.get('backups:stale')?.detail).toMatch(/is 27\.0 h old; the limit is 26 h/);
    await service.run('postgres');
    expect(box.incidents.open.has('backups:stale')).toBe(false);
  });

  it('finds pg_dump where Debian keeps it, or takes the configured directory', () => {
    expect(findPgBinDir('/opt/pg/bin')).toBe('/opt/pg/bin');
    const found = findPgBinDir(undefined);
    expect(found === '' || existsSync(join(found, 'pg_dump'))).toBe(true);
  });
});
