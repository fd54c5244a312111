import type { CentralConfig } from './config.js';
import type { CentralModule } from './module.js';

/** Central's feature modules, in start order. Each is guarded: one failing cannot stop the rest. */
export function centralModules(_config: CentralConfig): CentralModule[] {
  return [];
}
