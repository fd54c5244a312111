import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import type { BackupService } from '../../central/backups/service.js';
import { centralTables } from '../helpers/central-db.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';

/** Each test's own folder, central tables and incidents; the service it starts is stopped after it. */
export interface BackupSandbox {
  dir: string;
  db: Database.Database;
  incidents: MemoryIncidents;
  service: BackupService | undefined;
  /** Stopped after the test. */
  use(service: BackupService): BackupService;
}

export function backupSandbox(prefix: string): BackupSandbox {
  const box = {
    use(service: BackupService) {
      box.service = service;
      return service;
    },
  } as BackupSandbox;
  beforeEach(() => {
    box.dir = mkdtempSync(join(tmpdir(), prefix));
    box.db = centralTables(join(box.dir, 'central.db'));
    box.incidents = new MemoryIncidents();
  });
  afterEach(async () => {
    await box.service?.stop();
    box.service = undefined;
    box.db.close();
    rmSync(box.dir, { recursive: true, force: true });
  });
  return box;
}
