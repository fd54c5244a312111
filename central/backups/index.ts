export { backupsConfigSchema, type BackupsConfig, type BackupKind } from './config.js';
export { BackupService, type BackupServiceOptions, type BackupsOverview, type BackupProgress } from './service.js';
export { BackupsPlugin, type BackupsApi } from './plugin.js';
export { BACKUPS_MIGRATIONS, type BackupRecord } from './store.js';
