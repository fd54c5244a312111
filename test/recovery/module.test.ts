import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { BackupsPlugin } from '../../central/backups/index.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { RecoveryPlugin } from '../../central/recovery/index.js';
import { NoticesPlugin } from '../../central/notices/index.js';
import { NotifyPlugin } from '../../central/notify/index.js';
import { waitFor } from '../peers/net.js';
import { signInSuite } from '../helpers/auth.js';
import { mainServerPeer, type ManagedProcess } from '../peers/recovery-peers.js';

describe('recovery as a central plugin (forwarder gate, leadership, routes)', () => {
  let dir: string;
  let server: ManagedProcess;
  let central: Central;

  afterEach(async () => {
    await central.stop();
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the forwarder a gate that closes while the main server is down and opens once it is verified up', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-recovery-module-'));
    server = await mainServerPeer(dir);
    await server.start();
    const config = loadCentralConfig(undefined, {}, {
      dataDir: join(dir, 'central'),
      http: { port: 0 },
      broker: { host: '127.0.0.1', port: 0 },
      recovery: {
        host: { enabled: false },
        procedures: {
          'main-server': {
            probe: { every: '500ms', checks: [{ type: 'http', url: `http://127.0.0.1:${server.port}/api/status` }] },
            stages: [{ name: 'immediate', steps: [{ type: 'command', id: 'restart', argv: server.restartArgv(), restart: true }, { type: 'wait', id: 'up', intervalMs: 250 }] }],
          },
        },
      },
    });
    // Recovery depends on backups, notify and notices: central starts them first, whatever the list says.
    central = new Central(config, { log: silentLogger(), plugins: [new RecoveryPlugin(), new BackupsPlugin(), new NotifyPlugin(), new NoticesPlugin()] as never[] });
    await central.start();
    const token = await signInSuite(central);
    const auth = { headers: { authorization: `Bearer ${token}` } };
    expect(central.runningPlugins).toEqual(['backups', 'notify', 'notices', 'recovery']);
    const gate = central.api('recovery')!.gate('main-server'); // what upstream's forwarder gets
    expect(gate.isUp()).toBe(true);
    const changes: boolean[] = [];
    gate.onChange((up) => changes.push(up));

    const runbooks = async () => (await (await fetch(`http://127.0.0.1:${central.httpPort}/api/runbooks`, auth)).json()) as Array<{ health: string }>;
    await waitFor(async () => (await runbooks())[0]?.health === 'up', 'the leader to probe the main server', 20_000);
    await server.kill();
    await waitFor(() => changes.length === 2, 'the gate to close and open again', 60_000);
    expect(changes).toEqual([false, true]);
    expect(gate.isUp()).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${central.httpPort}/api/backups`, auth)).json()).toMatchObject({ configured: false });

    // a follower stops probing: the runbook acts only on the leader
    await central.leader.stop();
    await waitFor(async () => (await runbooks())[0]?.health === 'unknown', 'the engine to stop on losing leadership', 10_000);
  });
});
