export { activityConfigSchema, type ActivityConfig } from './config.js';
export { silentPoints, usualOrders, silentKey, historyWindow, countsByPoint, type PointActivity, type SilentPoint } from './rules.js';
export { ActivityPlugin } from './plugin.js';
