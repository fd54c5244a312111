export { backupsConfigSchema, type BackupsConfig, type BackupKind } from './config.js';
export { BackupService, type BackupServiceOptions, type BackupsOverview, type BackupProgress } from './service.js';
export type { BackupRecord } from './store.js';
