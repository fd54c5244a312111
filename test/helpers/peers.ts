import { existsSync } from 'node:fs';
import { describe } from 'vitest';
import { MOSQUITTO_BIN } from '../peers/mosquitto.js';
import { canConnect } from '../peers/net.js';
import { PG_SERVER_BIN, SYSTEM_POSTGRES } from '../peers/postgres.js';
import { CAN_MOUNT_TMPFS } from '../peers/tmpfs.js';

/**
 * CI sets HOTPOT_REQUIRE_PEERS=1 (and CI=true): a missing real peer is then a failure, not a skip.
 * On a developer's laptop the suite skips with a loud reason instead.
 */
export const PEERS_REQUIRED = process.env.HOTPOT_REQUIRE_PEERS === '1' || process.env.CI === 'true';

/** A TCP connect, once per test file that imports this module (top-level await). */
const POSTGRES_REACHABLE = await canConnect(SYSTEM_POSTGRES.host, SYSTEM_POSTGRES.port, 1000);

export interface Peer {
  name: string;
  available: boolean;
  install: string;
}

export const peers = {
  mosquitto: (): Peer => ({ name: 'mosquitto', available: Boolean(MOSQUITTO_BIN), install: 'apt-get install mosquitto' }),
  socat: (): Peer => ({ name: 'socat', available: existsSync('/usr/bin/socat'), install: 'apt-get install socat' }),
  fswebcam: (): Peer => ({ name: 'fswebcam', available: existsSync('/usr/bin/fswebcam'), install: 'apt-get install fswebcam' }),
  /** libjpeg's encoder: greyscale, chroma subsampling, restart intervals, progressive and arithmetic JPEGs. */
  cjpeg: (): Peer => ({ name: 'cjpeg', available: existsSync('/usr/bin/cjpeg'), install: 'apt-get install libjpeg-turbo-progs' }),
  chromium: (): Peer => ({ name: 'chromium', available: existsSync('/usr/bin/chromium'), install: 'apt-get install chromium' }),
  postgres: (): Peer => ({ name: 'postgres', available: POSTGRES_REACHABLE, install: 'apt-get install postgresql; trust auth for user postgres on 127.0.0.1:5432' }),
  /** initdb + postgres to run a throwaway cluster a test may crash (as root: it runs them as the postgres user). */
  /** A size-limited tmpfs to fill (a full data disk): root and mount(8). */
  tmpfs: (): Peer => ({ name: 'tmpfs mounts (run as root)', available: CAN_MOUNT_TMPFS, install: 'run the tests as root (CI does)' }),
  postgresServer: (): Peer => ({ name: 'postgres server binaries (run as root)', available: Boolean(PG_SERVER_BIN) && process.getuid?.() === 0, install: 'apt-get install postgresql' }),
};

/**
 * `describe` when every peer is present; otherwise a loud skip, or (in CI) a failing suite.
 */
export function describeWithPeers(title: string, needed: Peer[], body: () => void): void {
  const missing = needed.filter((peer) => !peer.available);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const reason = missing.map((p) => `${p.name} is missing (${p.install})`).join('; ');
  if (PEERS_REQUIRED) {
    describe(title, () => {
      throw new Error(`real peer required in CI: ${reason}`);
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPING "${title}": ${reason}. Install it to run these tests.\n\n`);
  describe.skip(title, body);
}
