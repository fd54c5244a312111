import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { backupsConfigSchema } from '../../central/backups/config.js';
import { copyProblem, dueTier, expiredCopies, nextTierTimes, parseListing, type Tier } from '../../central/backups/plan.js';
import { BackupService } from '../../central/backups/service.js';
import type { BackupRecord } from '../../central/backups/store.js';
import { loadCentralConfig } from '../../central/config.js';
import { restoreBackupStepSchema } from '../../central/recovery/config.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { adminQuery, throwawayDatabase } from '../peers/postgres.js';
import { backupSandbox } from './sandbox.js';

const DAY = 86_400_000;
const TBILISI = 'Asia/Tbilisi'; // UTC+4, no summer time

describe('backup planner (pure)', () => {
  it('reads cron in central\'s time zone: "0 2 * * *" is 02:00 in Tbilisi, 22:00 UTC the day before', () => {
    const next = nextTierTimes({ daily: { cron: '0 2 * * *' }, monthly: { cron: '0 2 1 * *' } }, Date.UTC(2031, 4, 10, 12), TBILISI);
    expect(next).toEqual({ daily: Date.UTC(2031, 4, 10, 22), monthly: Date.UTC(2031, 4, 31, 22) });
  });

  it('makes one backup of the highest tier when several are due', () => {
    const at = Date.UTC(2031, 4, 31, 22);
    expect(dueTier({ daily: at, weekly: at + DAY, monthly: at }, at)).toBe('monthly');
    expect(dueTier({ daily: at, weekly: at + DAY }, at)).toBe('daily');
    expect(dueTier({ daily: at }, at - 1)).toBeNull();
  });

  it('keeps a copy for the longer of its target\'s and its tier\'s retention, never the newest good one', () => {
    const now = 100 * DAY;
    const copy = (backupId: string, tier: Tier, ageDays: number) => ({ backupId, tier, takenAt: now - ageDays * DAY });
    const copies = [copy('d-8', 'daily', 8), copy('d-6', 'daily', 6), copy('w-20', 'weekly', 20), copy('w-29', 'weekly', 29), copy('m-300', 'monthly', 300), copy('m-366', 'monthly', 366), copy('keep', 'daily', 50)];
    const tiers = { daily: 7, weekly: 28, monthly: 365 };
    expect(expiredCopies(copies, 7, tiers, now, 'keep').map((c) => c.backupId)).toEqual(['d-8', 'w-29', 'm-366']);
    expect(expiredCopies(copies, 30, tiers, now, 'keep').map((c) => c.backupId)).toEqual(['m-366']);
  });

  it('reads ls -l, aws s3 ls, gsutil ls -l and rclone lsf listings and checks size and sha256', () => {
    const name = 'postgres-daily-2031-05-10T22-00-00-000Z-abcdef12.dump';
    const sha = 'a'.repeat(64);
    const ours = (n: string) => n.startsWith('postgres-');
    const listings = [
      `total 8\n-rw-r--r-- 1 hotpot hotpot 1234 May 11 02:00 ${name}\n`,
      `2031-05-11 02:00:03       1234 ${name}\n`,
      `      1234  2031-05-10T22:00:03Z  gs://bucket/hotpot/${name}\nTOTAL: 1 objects, 1234 bytes (1.21 KiB)\n`,
      `${name};1234;${sha}\n`,
    ];
    for (const listing of listings) {
      const [file] = parseListing(listing, ours);
      expect(file?.name).toBe(name);
      expect(copyProblem(file, { name, size: 1234, sha256: sha })).toBeNull();
      expect(copyProblem(file, { name, size: 99, sha256: sha })).toMatch(/without its size 99/);
    }
    expect(copyProblem(parseListing(`${name};1234;${'b'.repeat(64)}`, ours)[0], { name, size: 1234, sha256: sha })).toMatch(/listed with sha256 b+, not a+/);
    expect(copyProblem(undefined, { name, size: 1, sha256: sha })).toMatch(/not in the target's listing/);
  });

  it('tells an old single-tier config where its keys went', () => {
    const load = (backups: unknown) => () => loadCentralConfig(undefined, {}, { backups });
    expect(load({ offsite: { argv: ['rsync'] } })).toThrow(/backups\.offsite: this key moved to backups\.<kind>\.targets/);
    expect(load({ config: { paths: ['/x'], schedule: '0 2 * * *', retentionDays: 3 } })).toThrow(/backups\.config\.schedule: this key moved to backups\.config\.schedules\.daily\.cron/);
  });

  it('restore-backup steps name their kind; only postgres takes a url', () => {
    expect(restoreBackupStepSchema.parse({ type: 'restore-backup', id: 'r', kind: 'config' })).toMatchObject({ kind: 'config' });
    expect(restoreBackupStepSchema.safeParse({ type: 'restore-backup', id: 'r' }).error?.issues[0]).toMatchObject({ path: ['url'] });
    expect(restoreBackupStepSchema.safeParse({ type: 'restore-backup', id: 'r', kind: 'chain', url: 'postgres://x@h/db' }).success).toBe(false);
  });
});

describeWithPeers('backup tiers and targets (real PostgreSQL, tar, cp/ls/rm targets)', [peers.postgres()], () => {
  const box = backupSandbox('hotpot-tiers-');

  /** An off-site target that is a second directory: cp to copy, a listing command, rm to delete, cp back to fetch. */
  const directoryTarget = (name: string, retentionDays: number, extra: Record<string, unknown> = {}) => {
    const remote = join(box.dir, name);
    mkdirSync(remote, { recursive: true });
    return {
      type: 'command',
      name,
      remote,
      copy: ['cp', '{file}', '{checksumFile}', '{remote}/'],
      list: ['ls', '-l', '{remote}'],
      delete: ['rm', '{remote}/{name}'],
      fetch: ['cp', '{remote}/{name}', '{file}'],
      retentionDays,
      ...extra,
    };
  };
  const files = (folder: string) => readdirSync(folder).filter((f) => !f.endsWith('.sha256')).sort();

  it('a week and a month of Tbilisi schedules: what is kept where, for how long, what is pruned', async () => {
    const etc = join(box.dir, 'etc');
    mkdirSync(etc);
    writeFileSync(join(etc, 'central.json'), '{"timeZone":"Asia/Tbilisi"}');
    const start = Date.UTC(2031, 3, 30, 12); // 16:00 on 30 April in Tbilisi
    const clock = new ManualClock(start);
    const config = backupsConfigSchema.parse({
      dir: join(box.dir, 'backups'),
      config: {
        paths: [join(etc, 'central.json')],
        // The runbook's tiers at one hour: on a Sunday the weekly one runs instead of the daily one, on the 1st the monthly one.
        schedules: { daily: { cron: '0 2 * * *' }, weekly: { cron: '0 2 * * 0' }, monthly: { cron: '0 2 1 * *' } },
        targets: [
          { type: 'local', retentionDays: 7 },
          directoryTarget('cloud', 30),
          // An SFTP-like target whose listing gives sha256 (checked after each copy).
          directoryTarget('sftp', 90, { list: ['sh', '-c', 'cd "$1" && sha256sum -- *', 'sh', '{remote}'] }),
          directoryTarget('vault', 30, { tiers: ['monthly'] }),
        ],
      },
    });
    const service = box.use(new BackupService({ config, db: box.db, incidents: box.incidents, clock, timeZone: TBILISI }));
    await service.start();
    const runs: BackupRecord[] = [];
    const end = Date.UTC(2031, 5, 7, 12); // 38 days later
    for (;;) {
      const due = Math.min(...service.overview().schedules[0]!.tiers.map((t) => t.nextAt!));
      if (due > end) break;
      clock.set(due);
      service.tick();
      await waitFor(() => service.overview().running.length === 0, 'the scheduled backup to finish', 30_000);
      runs.push(service.overview().backups[0]!);
    }
    // One backup a night at 02:00 Tbilisi (22:00 UTC), each of one tier.
    expect(runs).toHaveLength(38);
    expect(runs.every((r) => new Date(r.startedAt).getUTCHours() === 22 && r.status === 'ok' && r.by === 'schedule')).toBe(true);
    const tiers = (tier: Tier) => runs.filter((r) => r.tier === tier).map((r) => new Date(r.startedAt + 4 * 3_600_000).toISOString().slice(0, 10));
    expect(tiers('monthly')).toEqual(['2031-05-01', '2031-06-01']);
    expect(tiers('weekly')).toEqual(['2031-05-04', '2031-05-11', '2031-05-18', '2031-05-25']);
    expect(runs.every((r) => r.copies.length === (r.tier === 'monthly' ? 3 : 2))).toBe(true);

    const now = clock.now();
    const names = (keep: (r: BackupRecord) => boolean) => runs.filter(keep).map((r) => basename(r.file)).sort();
    const age = (r: BackupRecord) => now - r.startedAt;
    // local: dailies 7 days, weeklies 28 days, monthlies 12 months
    expect(files(join(box.dir, 'backups', 'config'))).toEqual(names((r) => r.tier === 'monthly' || age(r) <= (r.tier === 'weekly' ? 28 : 7) * DAY));
    // cloud: 30 days for daily and weekly copies, monthlies stay (never deleted by the daily pruning)
    expect(files(join(box.dir, 'cloud'))).toEqual(names((r) => r.tier === 'monthly' || age(r) <= 30 * DAY));
    // sftp: 90 days, nothing pruned yet; its checksum files too
    expect(files(join(box.dir, 'sftp'))).toEqual(names(() => true));
    expect(readdirSync(join(box.dir, 'sftp'))).toHaveLength(2 * 38);
    // the vault holds the monthly archives only
    expect(files(join(box.dir, 'vault'))).toEqual(names((r) => r.tier === 'monthly'));
    // pruned copies are recorded; checksum files went with them
    const catalogue = service.overview(1000).backups;
    const oldDaily = catalogue.find((b) => b.tier === 'daily' && now - b.startedAt > 30 * DAY)!;
    expect(oldDaily.copies.find((c) => c.target === 'cloud')).toMatchObject({ state: 'deleted' });
    expect(oldDaily.copies.find((c) => c.target === 'sftp')).toMatchObject({ state: 'ok' });
    expect(readdirSync(join(box.dir, 'cloud')).filter((f) => f.endsWith('.sha256'))).toHaveLength(files(join(box.dir, 'cloud')).length);
    expect(box.incidents.open.size).toBe(0);

    // A year on (the clock moved): 1 May's monthly goes after 365 days, 1 June's (335 days old) stays.
    const [may, june] = runs.filter((r) => r.tier === 'monthly');
    clock.set(may!.startedAt + 366 * DAY);
    await service.run('config', 'test');
    expect(files(join(box.dir, 'vault'))).toEqual([basename(june!.file)]);
    expect(files(join(box.dir, 'backups', 'config'))).not.toContain(basename(may!.file));
  });

  it('fails a copy the target lists with the wrong size, and says so in an incident', async () => {
    const etc = join(box.dir, 'central.json');
    writeFileSync(etc, '{}');
    const broken = directoryTarget('broken', 30, { copy: ['touch', '{remote}/{name}'] });
    const service = box.use(new BackupService({ config: backupsConfigSchema.parse({ dir: join(box.dir, 'backups'), config: { paths: [etc], targets: [{ type: 'local' }, broken] } }), db: box.db, incidents: box.incidents }));
    await service.start();
    const backup = await service.run('config');
    expect(backup.offsite).toBe('failed');
    expect(backup.copies[0]).toMatchObject({ target: 'broken', state: 'failed' });
    expect(backup.copies[0]!.detail).toMatch(/listed without its size \d+/);
    expect(box.incidents.open.get('backups:config')?.detail).toMatch(/off-site copy failed: broken/);
  });

  it('restores a config archive over its paths, and says "backup completed" when asked', async () => {
    const etc = join(box.dir, 'etc');
    mkdirSync(etc);
    const file = join(etc, 'central.json');
    writeFileSync(file, '{"good":true}');
    const service = box.use(new BackupService({ config: backupsConfigSchema.parse({ dir: join(box.dir, 'backups'), config: { paths: [file] }, notifyCompleted: true }), db: box.db, incidents: box.incidents }));
    await service.start();
    const backup = await service.run('config');
    expect(box.incidents.open.get('backups:completed:config')).toMatchObject({ severity: 'info', title: 'config backup completed' });
    writeFileSync(file, '{"broken":');
    expect(service.newestRestorable('config')?.id).toBe(backup.id);
    const restored = await service.restore(backup.id, undefined, 60_000);
    expect(restored).toMatchObject({ ok: true });
    expect(readFileSync(file, 'utf8')).toBe('{"good":true}');
    // a tampered archive is refused
    writeFileSync(backup.file, 'garbage');
    expect(await service.restore(backup.id, undefined, 60_000)).toMatchObject({ ok: false, detail: expect.stringMatching(/checksum mismatch/) });
  });

  it('backs up, drills and restores chain state through configured commands', async () => {
    const state = join(box.dir, 'chain');
    mkdirSync(state);
    writeFileSync(join(state, 'height'), '1200');
    const config = backupsConfigSchema.parse({
      dir: join(box.dir, 'backups'),
      chain: {
        backup: ['tar', '-czf', '{file}', '-C', state, '.'],
        restore: ['tar', '-xzf', '{file}', '-C', state],
        check: ['tar', '-tzf', '{file}'],
        targets: [{ type: 'local' }, directoryTarget('cloud', 30)],
        drill: {},
      },
    });
    const service = box.use(new BackupService({ config, db: box.db, incidents: box.incidents }));
    await service.start();
    const backup = await service.run('chain');
    expect(backup).toMatchObject({ kind: 'chain', status: 'ok', offsite: 'ok' });
    writeFileSync(join(state, 'height'), '999');
    expect(await service.restore(backup.id, undefined, 60_000)).toMatchObject({ ok: true });
    expect(readFileSync(join(state, 'height'), 'utf8')).toBe('1200');
    const drill = await service.drill('chain');
    expect(drill).toMatchObject({ ok: true, backupId: backup.id, target: 'cloud' });
    expect(drill.detail).toMatch(/sha256 \w+ matches; `tar -tzf .*` exited 0/);
  });

  describe('PostgreSQL', () => {
    let source: Awaited<ReturnType<typeof throwawayDatabase>>;
    beforeAll(async () => {
      source = await throwawayDatabase('hotpot_tiers');
      await adminQuery(`CREATE TABLE orders (id serial PRIMARY KEY, total integer NOT NULL); INSERT INTO orders (total) SELECT i FROM generate_series(1, 200) AS i;`, source.url);
    });
    afterAll(() => source.drop());

    it('copies a verified dump off-site and drills its restore from there (sha256, pg_restore --list); a corrupt copy fails the drill', async () => {
      const config = backupsConfigSchema.parse({
        dir: join(box.dir, 'backups'),
        postgres: { url: source.url, targets: [{ type: 'local' }, directoryTarget('cloud', 30)], drill: { cron: '0 5 1 * *', target: 'cloud' } },
      });
      const clock = new ManualClock(Date.UTC(2031, 4, 31, 12));
      const service = box.use(new BackupService({ config, db: box.db, incidents: box.incidents, clock, timeZone: TBILISI }));
      await service.start();
      const backup = await service.run('postgres');
      expect(backup).toMatchObject({ verify: 'passed', offsite: 'ok', copies: [{ target: 'cloud', state: 'ok' }] });
      // The drill is due at 05:00 Tbilisi on the 1st.
      expect(service.overview().schedules[0]!.drill).toEqual({ cron: '0 5 1 * *', target: 'cloud', nextAt: Date.UTC(2031, 5, 1, 1) });
      clock.set(Date.UTC(2031, 5, 1, 1));
      service.tick();
      await waitFor(() => service.overview().drills.length === 1, 'the monthly drill', 60_000);
      const drill = service.overview().drills[0]!;
      expect(drill).toMatchObject({ kind: 'postgres', ok: true, backupId: backup.id, target: 'cloud' });
      expect(drill.detail).toMatch(/sha256 \w+ matches; `\S*pg_restore --list .*` exited 0/);
      expect(readdirSync(join(box.dir, 'backups')).filter((f) => f.startsWith('.drill'))).toEqual([]);

      writeFileSync(join(box.dir, 'cloud', basename(backup.file)), 'PGDMP but not really');
      const failed = await service.drill('postgres');
      expect(failed.ok).toBe(false);
      expect(failed.detail).toMatch(/sha256 \w+ ≠/);
      expect(box.incidents.open.get('backups:drill:postgres')?.title).toBe('postgres restore drill failed');
    });
  });
});
