import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { UpstreamPlugin, type UpstreamDeps } from '../../central/upstream/index.js';
import { RecoveryPlugin, type TargetGate } from '../../central/recovery/index.js';
import { NoticesPlugin } from '../../central/notices/index.js';
import { NotifyPlugin } from '../../central/notify/index.js';
import { BackupsPlugin } from '../../central/backups/index.js';
import { signInSuite } from '../helpers/auth.js';

/** A gate the test flips by hand, standing in for the main-server runbook. */
export class ManualGate implements TargetGate {
  private readonly events = new EventEmitter();
  constructor(private up: boolean) {}
  isUp(): boolean {
    return this.up;
  }
  set(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    this.events.emit('change', up);
  }
  onChange(listener: (up: boolean) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }
}

/** Fast timings for tests: short backoffs, quick probes and checks. */
export const FAST_UPSTREAM = {
  timeoutMs: 3000,
  backoff: { baseMs: 50, maxMs: 500 },
  pauseAfterFailures: 3,
  probeEveryMs: 100,
  checkEveryMs: 100,
};

/**
 * A real Central (embedded aedes and HTTP each bound to a free port by the OS) with the upstream plugin.
 * `extra` config keys replace the defaults (e.g. `mqtt` to join a broker, `database` for PostgreSQL).
 */
export async function startForwardingCentral(
  dataDir: string,
  upstream: Record<string, unknown>,
  deps: UpstreamDeps = {},
  extra: Record<string, unknown> = {},
): Promise<Central> {
  const config = loadCentralConfig(undefined, {}, {
    dataDir: join(dataDir, 'central'),
    http: { port: 0 },
    broker: { host: '127.0.0.1', port: 0 },
    mqtt: { keepalive: 5 },
    upstream: { ...FAST_UPSTREAM, ...upstream },
    ...extra,
  });
  // Without a hand-flipped gate, the main-server gate comes from the recovery plugin (no procedures: always up).
  const plugins = deps.gate ? [new UpstreamPlugin(deps)] : [new BackupsPlugin(), new NotifyPlugin(), new NoticesPlugin(), new RecoveryPlugin(), new UpstreamPlugin()];
  const central = new Central(config, { log: silentLogger(), plugins });
  await central.start();
  await signInSuite(central);
  return central;
}
