export { StatusPlugin, StatusBoard } from './plugin.js';
export { statusConfigSchema, type StatusConfig } from './config.js';
export { statusSnapshot, type StatusSnapshot } from './snapshot.js';
