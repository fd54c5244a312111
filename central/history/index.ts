export { HistoryPlugin } from './plugin.js';
export { historyConfigSchema, type HistoryConfig } from './config.js';
export { HistoryStore, HISTORY_MIGRATIONS, type FleetEvent, type SeriesPoint } from './store.js';
