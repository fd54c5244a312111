import Database from 'better-sqlite3';
import { migrate } from '../../central/migrations.js';
import { INCIDENT_MIGRATIONS } from '../../central/incidents/index.js';
import { centralPlugins } from '../../central/plugins.js';

/**
 * A SQLite file with every table central makes: the incidents' and each plugin's migrations,
 * for tests that drive one part (an engine, a service, a store) without a whole Central.
 */
export function centralTables(file: string): Database.Database {
  const db = new Database(file);
  migrate(db, 'incidents', INCIDENT_MIGRATIONS, Date.now());
  for (const plugin of centralPlugins()) if (plugin.migrations) migrate(db, plugin.name, plugin.migrations, Date.now());
  return db;
}
