import type { CentralConfig } from './config.js';
import type { CentralModule } from './module.js';
import { FleetAlerts } from './alerts/index.js';
import { FleetHistory } from './history/index.js';
import { PointCommands } from './commands/index.js';
import { Dashboard } from './dashboard/index.js';
import { Forwarder } from './forwarder/index.js';
import { MenuModule } from './menu/index.js';
import { ReconciliationModule } from './reconciliation/index.js';

/** Central's feature modules, in start order. Each is guarded: one failing cannot stop the rest. */
export function centralModules(config: CentralConfig): CentralModule[] {
  return [
    new FleetHistory(),
    new FleetAlerts(),
    new PointCommands(),
    new Dashboard(),
    new MenuModule(),
    new ReconciliationModule(),
    ...(config.upstream.url ? [new Forwarder()] : []),
  ];
}
