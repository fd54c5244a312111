export { Dashboard, STATIC_DIR } from './module.js';
export { toDashboard, DASHBOARD_EVENT } from './events.js';
