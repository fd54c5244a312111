export { ReconciliationModule, judgeDay, reconciliationIncidentKey } from './module.js';
export { ReconciliationStore, type DayCheck, type DayStatus } from './store.js';
