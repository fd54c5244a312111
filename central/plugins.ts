import { ActivityPlugin } from './activity/index.js';
import { AlertsPlugin } from './alerts/index.js';
import { BackupsPlugin } from './backups/index.js';
import { CommandsPlugin } from './commands/index.js';
import { DashboardPlugin } from './dashboard/index.js';
import { HistoryPlugin } from './history/index.js';
import { MenuPlugin } from './menu/index.js';
import { NoticesPlugin } from './notices/index.js';
import { NotifyPlugin } from './notify/index.js';
import type { CentralPlugin } from './plugin.js';
import { ReconciliationPlugin } from './reconciliation/index.js';
import { RecoveryPlugin } from './recovery/index.js';
import { StatusPlugin } from './status/index.js';
import { UpstreamPlugin } from './upstream/index.js';

/**
 * Central's plugins. Central starts each after its dependencies, otherwise in this order: notify
 * first, so it listens before anything raises an incident.
 */
export function centralPlugins(): CentralPlugin[] {
  return [
    new NotifyPlugin(),
    new NoticesPlugin(),
    new HistoryPlugin(),
    new AlertsPlugin(),
    new CommandsPlugin(),
    new DashboardPlugin(),
    new MenuPlugin(),
    new ReconciliationPlugin(),
    new BackupsPlugin(),
    new RecoveryPlugin(),
    new UpstreamPlugin(),
    new StatusPlugin(),
    new ActivityPlugin(),
  ] as CentralPlugin[];
}
