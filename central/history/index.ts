export { FleetHistory } from './recorder.js';
export { HistoryStore, type FleetEvent, type SeriesPoint } from './store.js';
