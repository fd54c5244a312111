export { ReconciliationPlugin, judgeDay, reconciliationIncidentKey } from './plugin.js';
export { ReconciliationStore, RECONCILIATION_MIGRATIONS, type DayCheck, type DayStatus } from './store.js';
