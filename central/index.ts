export { Central, type CentralDeps } from './central.js';
export { centralConfigSchema, loadCentralConfig, type CentralConfig } from './config.js';
export { centralModules } from './modules.js';
export type { CentralContext, CentralModule } from './module.js';
export { Fleet, type PointView } from './fleet.js';
export { SqliteCentralStore } from './store/sqlite.js';
export type { CentralStore, CommittedOrder } from './store/types.js';
