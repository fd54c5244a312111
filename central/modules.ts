import type { CentralConfig } from './config.js';
import type { CentralModule } from './module.js';
import { FleetAlerts } from './alerts/index.js';
import { FleetHistory } from './history/index.js';
import { PointCommands } from './commands/index.js';
import { Dashboard } from './dashboard/index.js';
import { Forwarder } from './upstream/index.js';
import { MenuModule } from './menu/index.js';
import { ReconciliationModule } from './reconciliation/index.js';
import { RecoveryModule } from './recovery/index.js';
import { NotifyModule } from './notify/index.js';

/** Central's feature modules, in start order. Each is guarded: one failing cannot stop the rest. */
export function centralModules(config: CentralConfig): CentralModule[] {
  const recovery = new RecoveryModule({ recovery: config.recovery, backups: config.backups });
  return [
    // Notifications first: it must be listening before anything raises an incident.
    new NotifyModule(config.notify),
    new FleetHistory(),
    new FleetAlerts(),
    new PointCommands(),
    new Dashboard(),
    new MenuModule(),
    new ReconciliationModule(),
    recovery,
    ...(config.upstream.url ? [new Forwarder({ gate: recovery.gate('main-server') })] : []),
  ];
}
