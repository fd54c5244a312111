import { KEY_AGE_MIGRATIONS } from '../../central/access/key-age.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { packageRoot } from '../../lib/paths.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { schemaVersions } from '../../central/migrations.js';
import { centralPlugins } from '../../central/plugins.js';
import { signInSuite } from '../helpers/auth.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';

/**
 * `central-0.1.db` was written by release 0.1 (commit 1e894fe): central with every module, one
 * agent's 12 orders forwarded to a main server, a menu, a command, a verified config backup, an
 * incident paged on chat and acked, a day of fleet history and reconciliation.
 */
const FIXTURE = join(packageRoot(), 'test', 'fixtures', 'central-0.1.db');

function rowCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('sqlite_sequence', 'schema_versions') ORDER BY name").all();
    return Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

describe('a central.db made by 0.1 upgrades in place', () => {
  let central: Central | undefined;
  afterEach(async () => {
    await central?.stop();
    central = undefined;
  });

  async function start(dataDir: string): Promise<Central> {
    const config = loadCentralConfig(undefined, {}, { dataDir, http: { port: 0 }, broker: { host: '127.0.0.1', port: 0 }, recovery: { host: { enabled: false } } });
    const started = new Central(config, { log: silentLogger(), plugins: centralPlugins() });
    await started.start();
    await signInSuite(started);
    return started;
  }

  it('every plugin adopts its tables at version 1 (and the newest), and no row is lost', async () => {
    const dataDir = join(tempDir('upgrade'), 'central');
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'central.db');
    copyFileSync(FIXTURE, file);
    const before = rowCounts(file);
    expect(before).toMatchObject({ orders: 12, forward_orders: 12, menu_versions: 1, fleet_commands: 1, runbook_backups: 1, incidents: 1, notify_escalations: 1 });

    central = await start(dataDir);
    const plugins = centralPlugins();
    const expected = Object.fromEntries([['incidents', 1], ['access', 1], ['keys', KEY_AGE_MIGRATIONS.length], ...plugins.filter((p) => p.migrations).map((p) => [p.name, p.migrations!.length])]);
    expect(schemaVersions(central.store.db)).toEqual(expected);
    expect(central.runningPlugins.sort()).toEqual(plugins.map((p) => p.name).sort());

    // What 0.1 stored still answers through the API.
    const port = central.httpPort!;
    expect((await httpJson(port, 'GET', '/api/orders/stats')).body).toMatchObject({ total: 12, byPoint: { 'tbilisi-01': 12 }, backlog: { size: 0 } });
    expect((await httpJson<{ items: unknown[] }>(port, 'GET', '/api/menu')).body.items.length).toBeGreaterThan(0);
    const incidents = (await httpJson<Array<{ status: string; ackedBy: string }>>(port, 'GET', '/api/incidents')).body;
    expect(incidents).toEqual([expect.objectContaining({ status: 'acked', ackedBy: 'fixture' })]);
    await central.stop();
    central = undefined;
    const after = rowCounts(file);
    expect(Object.fromEntries(Object.keys(before).map((table) => [table, after[table]]))).toEqual(before);

    // A second start finds nothing to do.
    central = await start(dataDir);
    expect(schemaVersions(central.store.db)).toEqual(expected);
  });
});
