export { Central, type CentralDeps } from './central.js';
export { centralConfigSchema, loadCentralConfig, type CentralConfig } from './config.js';
export { centralPlugins } from './plugins.js';
export type { CentralPlugin, PluginContext, PluginName, Access, Role } from './plugin.js';
export { Fleet, type PointView } from './fleet.js';
export { SqliteCentralStore } from './store/sqlite.js';
export { PostgresCentralStore } from './store/postgres.js';
export type { CentralStore, CommittedOrder, MaybePromise } from './store/types.js';
export { PgLeader, SoleLeader, type Leadership } from './leader.js';
