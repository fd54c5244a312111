import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import { Router, listen, type StartedServer } from '../../lib/http.js';
import { silentLogger } from '../../lib/log.js';
import { backupsConfigSchema } from '../../central/backups/config.js';
import { SoleLeader } from '../../central/leader.js';
import type { CentralContext } from '../../central/module.js';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { RecoveryModule } from '../../central/recovery/module.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { waitFor } from '../peers/net.js';
import { mainServerPeer, type ManagedProcess } from '../peers/recovery-peers.js';

describe('recovery as a central module (forwarder gate, leadership, routes)', () => {
  let dir: string;
  let db: Database.Database;
  let server: ManagedProcess;
  let http: StartedServer;
  let module: RecoveryModule;
  let leader: SoleLeader;

  afterEach(async () => {
    await module.stop();
    await leader.stop();
    await http.close();
    await server.kill();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the forwarder a gate that closes while the main server is down and opens once it is verified up', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-recovery-module-'));
    db = new Database(join(dir, 'central.db'));
    server = await mainServerPeer(dir);
    await server.start();
    const recovery = recoveryConfigSchema.parse({
      host: { enabled: false },
      procedures: {
        'main-server': {
          probe: { every: '500ms', checks: [{ type: 'http', url: `http://127.0.0.1:${server.port}/api/status` }] },
          stages: [{ name: 'immediate', steps: [{ type: 'command', id: 'restart', argv: server.restartArgv(), restart: true }, { type: 'wait', id: 'up', intervalMs: 250 }] }],
        },
      },
    });
    module = new RecoveryModule({ recovery, backups: backupsConfigSchema.parse({}) });
    const gate = module.gate('main-server'); // handed to the Forwarder before central starts its modules
    expect(gate.isUp()).toBe(true);
    const changes: boolean[] = [];
    gate.onChange((up) => changes.push(up));

    leader = new SoleLeader();
    const router = new Router();
    const ctx = { config: {}, log: silentLogger(), clock: systemClock, store: { db }, leader, router, incidents: new MemoryIncidents() } as unknown as CentralContext;
    await leader.start();
    module.start(ctx);
    http = await listen(router, '127.0.0.1', 0, silentLogger());

    const runbooks = async () => (await (await fetch(`http://127.0.0.1:${http.port}/api/runbooks`)).json()) as Array<{ health: string }>;
    await waitFor(async () => (await runbooks())[0]?.health === 'up', 'the leader to probe the main server', 20_000);
    await server.kill();
    await waitFor(() => changes.length === 2, 'the gate to close and open again', 60_000);
    expect(changes).toEqual([false, true]);
    expect(gate.isUp()).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${http.port}/api/backups`)).json()).toMatchObject({ configured: false });

    // a follower stops probing: the runbook acts only on the leader
    await leader.stop();
    await waitFor(async () => (await runbooks())[0]?.health === 'unknown', 'the engine to stop on losing leadership', 10_000);
  });
});
