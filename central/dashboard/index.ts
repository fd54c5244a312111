export { DashboardPlugin, STATIC_DIR } from './plugin.js';
