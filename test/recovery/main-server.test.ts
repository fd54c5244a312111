import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { RecoveryEngine } from '../../central/recovery/engine.js';
import type { Health } from '../../central/recovery/planner.js';
import { freePort, waitFor } from '../peers/net.js';
import { mainServerPeer, mainServerRunbook, peerScript, type ManagedProcess } from '../peers/recovery-peers.js';
import { waitForProcedure } from './engine-helpers.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { centralTables } from '../helpers/central-db.js';

const SECRET = 'franchise-key-123';

describe('main server runbook (real server process)', () => {
  let dir: string;
  let db: Database.Database;
  let incidents: MemoryIncidents;
  let engine: RecoveryEngine | undefined;
  let server: ManagedProcess;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-runbook-'));
    db = centralTables(join(dir, 'central.db'));
    incidents = new MemoryIncidents();
    server = await mainServerPeer(dir, ['--log-secret', SECRET]);
    await server.start();
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await server.kill();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('detects a killed server, restarts it with the configured command, verifies and resolves', async () => {
    const config = recoveryConfigSchema.parse({ procedures: { 'main-server': mainServerRunbook(server, { every: '500ms', waitIntervalMs: 250 }) }, secrets: [SECRET] });
    engine = new RecoveryEngine({ config, db, incidents });
    const changes: Health[] = [];
    engine.onHealth((target, health) => target === 'main-server' && changes.push(health));
    engine.start();
    await waitFor(() => engine!.health('main-server') === 'up', 'the first probe to see the server up', 20_000);
    const firstPid = server.pid();

    await server.kill();
    await waitForProcedure(engine, 'main-server', (p) => p.lastRun?.status === 'resolved', 'the runbook run to resolve');

    expect(engine.health('main-server')).toBe('up');
    expect(changes).toEqual(['up', 'down', 'up']);
    expect(server.pid()).not.toBeNull();
    expect(server.pid()).not.toBe(firstPid);
    expect((await fetch(`http://127.0.0.1:${server.port}/api/status`)).status).toBe(200);

    expect(incidents.raised('runbook:main-server')).toHaveLength(1);
    expect(incidents.open.has('runbook:main-server')).toBe(false);
    expect(incidents.log.some((e) => e.call === 'clear' && e.key === 'runbook:main-server')).toBe(true);

    const [run] = engine.runs();
    expect(run).toMatchObject({ procedure: 'main-server', status: 'resolved' });
    const acted = run!.steps.filter((s) => s.phase !== 'note');
    expect(acted.map((s) => `${s.phase}:${s.stepId ?? ''}`)).toEqual(['probe:status', 'probe:journal', 'before:restart', 'act:restart', 'after:restart', 'wait:verify-up', 'verify:']);
    const status = acted[0]!;
    expect(status).toMatchObject({ ok: false, exitCode: 3, by: 'runbook' });
    const restart = acted.find((s) => s.phase === 'act')!;
    expect(restart).toMatchObject({ ok: true, exitCode: 0 });
    expect(restart.outputTail).toMatch(/started pid \d+/);
    expect(restart.startedAt).toBeGreaterThan(0);
    expect(restart.finishedAt).toBeGreaterThanOrEqual(restart.startedAt);
    // the journal printed the secret; the audit must not hold it
    const journal = acted[1]!;
    expect(journal.outputTail).toContain('password=[redacted]');
    expect(JSON.stringify(engine.runs())).not.toContain(SECRET);
    // audit rows are in central's SQLite, not only in memory
    const rows = db.prepare('SELECT count(*) AS n FROM runbook_steps WHERE run_id = ?').get(run!.id) as { n: number };
    expect(rows.n).toBe(run!.steps.length);
  });

  it('escalates when the server will not come back and the restart budget runs out', async () => {
    const broken = {
      ...mainServerRunbook(server, { every: '500ms' }),
      budget: { restarts: 2, window: '15m' },
      stages: [
        {
          name: 'immediate',
          attempts: 5,
          steps: [
            { type: 'command', id: 'restart', argv: server.restartArgv([process.execPath, peerScript('main-server.mjs'), '--port', String(server.port), '--crash-on-start']), restart: true, timeoutMs: 20_000 },
            { type: 'wait', id: 'verify-up', timeoutMs: 1500, intervalMs: 250 },
          ],
        },
      ],
    };
    const config = recoveryConfigSchema.parse({ procedures: { 'main-server': broken } });
    engine = new RecoveryEngine({ config, db, incidents });
    engine.start();
    await waitFor(() => engine!.health('main-server') === 'up', 'the first probe to see the server up', 20_000);

    await server.kill();
    await waitForProcedure(engine, 'main-server', (p) => p.lastRun?.status === 'failed', 'the run to give up', 90_000);

    const summary = engine.procedures()[0]!;
    expect(summary).toMatchObject({ health: 'down', escalated: true, restartsUsed: 2, restartBudget: 2, run: null });
    const open = incidents.open.get('runbook:main-server');
    expect(open?.severity).toBe('critical');
    const texts = incidents.raised('runbook:main-server').map((r) => r.text);
    expect(texts.some((t) => t.includes('restart budget exhausted'))).toBe(true);
    expect(texts.at(-1)).toMatch(/still down after its recovery procedure/);
    const restarts = engine.runs()[0]!.steps.filter((s) => s.phase === 'act');
    expect(restarts).toHaveLength(2);
    for (const step of restarts) expect(step).toMatchObject({ ok: false, exitCode: 1, outputTail: expect.stringContaining('exited with code 3') });
    // escalated: later failing probes start no new run
    const runs = engine.runs().length;
    // Three more failing probes (every 500 ms) seen, not a fixed sleep: still no new run.
    const since = engine.procedures()[0]!.lastProbe!.at;
    for (let i = 0; i < 3; i++) {
      const after = engine.procedures()[0]!.lastProbe!.at;
      await waitForProcedure(engine, 'main-server', (p) => p.lastProbe!.at > after && !p.lastProbe!.ok, 'another failing probe', 10_000);
    }
    expect(engine.procedures()[0]!.lastProbe!.at).toBeGreaterThan(since);
    expect(engine.runs().length).toBe(runs);
  });

  it('kills a hanging action at its timeout and audits it', async () => {
    const port = await freePort(); // nothing listens: always down
    const config = recoveryConfigSchema.parse({
      procedures: {
        stuck: {
          probe: { every: '500ms', checks: [{ type: 'http', url: `http://127.0.0.1:${port}/api/status`, timeoutMs: 1000 }] },
          stages: [{ name: 'immediate', steps: [{ type: 'command', id: 'hang', argv: [process.execPath, '-e', 'console.log("PGPASSWORD=topsecret1"); setInterval(() => {}, 1000)'], timeoutMs: 3000 }] }],
        },
      },
    });
    engine = new RecoveryEngine({ config, db, incidents });
    engine.start();
    await waitForProcedure(engine, 'stuck', (p) => p.lastRun?.status === 'failed', 'the stuck run to end');
    const hang = engine.runs()[0]!.steps.find((s) => s.phase === 'act')!;
    expect(hang.ok).toBe(false);
    expect(hang.detail).toMatch(/timed out after 3000 ms and was killed \(SIGKILL\)/);
    expect(hang.outputTail).toContain('PGPASSWORD=[redacted]');
    expect(hang.finishedAt! - hang.startedAt).toBeLessThan(15_000);
  });
});
