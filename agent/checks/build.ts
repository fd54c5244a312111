import type { Logger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import { hasDefaultRoute, loadCamera, loadPrinter, loadProbes, loadSystemStats, type Camera, type Printer, type Probe, type SystemStats } from '../../drivers/index.js';
import type { AgentConfig } from '../config.js';
import type { OrderStore } from '../store.js';
import { PrintQueue } from '../receipts.js';
import { CameraCheck } from './camera.js';
import { InternetCheck } from './internet.js';
import { PrinterCheck } from './printer.js';
import { DeviceHealth, type ScheduledCheck } from './runner.js';
import { SystemCheck } from './system.js';

/** The configured devices, each driver loaded only when its device is configured. */
export interface Devices {
  printer: Printer | null;
  camera: Camera | null;
  probes: Probe[];
  systemStats: () => Promise<SystemStats>;
  close(): Promise<void>;
}

export async function loadDevices(config: AgentConfig): Promise<Devices> {
  const { checks } = config;
  const [printer, camera, probes, systemStats] = await Promise.all([
    loadPrinter({
      address: checks.printer.interface,
      baudRate: checks.printer.baudRate,
      width: checks.printer.width,
      statusTimeoutMs: checks.printer.timeoutMs,
      printTimeoutMs: checks.printer.printTimeoutMs,
    }),
    loadCamera(checks.camera.device, { resolution: checks.camera.resolution, skipFrames: checks.camera.skipFrames }),
    loadProbes(checks.internet.targets),
    loadSystemStats(config.dataDir),
  ]);
  return { printer, camera, probes, systemStats, close: async () => printer?.close() };
}

type Schedule = Pick<AgentConfig['checks']['internet'], 'intervalMs' | 'timeoutMs' | 'failAfter' | 'recoverAfter'>;

function scheduled(check: ScheduledCheck['check'], schedule: Schedule): ScheduledCheck {
  return { check, intervalMs: schedule.intervalMs, timeoutMs: schedule.timeoutMs, hysteresis: { failAfter: schedule.failAfter, recoverAfter: schedule.recoverAfter } };
}

/** Every check the config asks for; internet and system always run. */
export function buildChecks(config: AgentConfig, devices: Devices, centralConnected: () => boolean | Promise<boolean>): ScheduledCheck[] {
  const { internet, printer, camera, system } = config.checks;
  const checks = [
    scheduled(new InternetCheck(devices.probes, { timeoutMs: internet.timeoutMs, slowMs: internet.slowMs, centralConnected, defaultRoute: hasDefaultRoute }), internet),
    scheduled(new SystemCheck(devices.systemStats, system), system),
  ];
  if (devices.printer) checks.push(scheduled(new PrinterCheck(devices.printer), printer));
  if (devices.camera) checks.push(scheduled(new CameraCheck(devices.camera, camera), camera));
  return checks;
}

export interface DeviceDeps {
  /** For AgentDeps.health. */
  health: (store: OrderStore) => DeviceHealth;
  /** For AgentDeps.receipts; undefined with no printer configured. */
  receipts: ((store: OrderStore) => PrintQueue) | undefined;
  /** Releases the devices (the serial port); after agent.stop(). */
  close(): Promise<void>;
}

/**
 * The real checks and print queue for an Agent. `centralConnected` reports the MQTT link
 * (`() => agent.link.connected`); it is called only once the agent runs.
 */
export async function deviceDeps(config: AgentConfig, log: Logger, centralConnected: () => boolean, clock?: Clock): Promise<DeviceDeps> {
  const devices = await loadDevices(config);
  const printer = devices.printer;
  return {
    close: () => devices.close(),
    health: (store) => new DeviceHealth({ checks: buildChecks(config, devices, centralConnected), log, overrides: store, ...(clock ? { clock } : {}) }),
    receipts: printer ? (store) => new PrintQueue(store, printer, { log, retryMs: config.checks.printer.retryMs, timeZone: config.timeZone, ...(clock ? { clock } : {}) }) : undefined,
  };
}
