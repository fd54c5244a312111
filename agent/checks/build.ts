import type { Logger } from '../../lib/log.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { hasDefaultRoute, loadCamera, loadPrinter, loadProbes, loadSystemStats, type Camera, type Printer, type Probe, type SystemStats } from '../../drivers/index.js';
import { paperDots, receiptLanguage, type AgentConfig } from '../config.js';
import { receiptFontFiles } from '../page/fonts.js';
import { CashDrawer } from '../drawer.js';
import type { OrderStore } from '../store.js';
import { PrintQueue } from '../receipts.js';
import { CameraCheck } from './camera.js';
import { InternetCheck } from './internet.js';
import { PrinterCheck } from './printer.js';
import { DeviceHealth, type ScheduledCheck } from './runner.js';
import { SystemCheck } from './system.js';
import { DiskHealthCheck, TemperatureCheck } from './hardware.js';
import { readDisks, readTemperature, smartctlArgv, type DiskHealthOptions } from '../../drivers/hardware.js';
import { SMART_REPORT_MAX_AGE_MS } from '../../drivers/smart-report.js';

/** The configured devices, each driver loaded only when its device is configured. */
export interface Devices {
  printer: Printer | null;
  /** The kitchen's ticket printer (`kitchenPrinter`). */
  kitchenPrinter: Printer | null;
  camera: Camera | null;
  probes: Probe[];
  systemStats: () => Promise<SystemStats>;
  close(): Promise<void>;
}

type PaperConfig = AgentConfig['checks']['printer'] | AgentConfig['kitchenPrinter'];

/** A printer's driver options: its port, its paper, and how text no code page holds is drawn. */
function printerOptions(config: AgentConfig, printer: PaperConfig) {
  return {
    address: printer.interface,
    baudRate: printer.baudRate,
    width: printer.width,
    dots: paperDots(printer),
    codePage: config.receipt.codePage,
    codePageTable: config.receipt.codePageTable,
    fontFiles: receiptFontFiles(),
    statusTimeoutMs: printer.timeoutMs,
    printTimeoutMs: printer.printTimeoutMs,
  };
}

export async function loadDevices(config: AgentConfig): Promise<Devices> {
  const { checks } = config;
  const [printer, kitchenPrinter, camera, probes, systemStats] = await Promise.all([
    loadPrinter(printerOptions(config, checks.printer)),
    loadPrinter(printerOptions(config, config.kitchenPrinter)),
    loadCamera(checks.camera.device, { resolution: checks.camera.resolution, skipFrames: checks.camera.skipFrames }),
    loadProbes(checks.internet.targets),
    loadSystemStats(config.dataDir),
  ]);
  return {
    printer,
    kitchenPrinter,
    camera,
    probes,
    systemStats,
    close: async () => {
      await printer?.close();
      await kitchenPrinter?.close();
    },
  };
}

type Schedule = Pick<AgentConfig['checks']['internet'], 'intervalMs' | 'timeoutMs' | 'failAfter' | 'recoverAfter'>;

function scheduled(check: ScheduledCheck['check'], schedule: Schedule): ScheduledCheck {
  return { check, intervalMs: schedule.intervalMs, timeoutMs: schedule.timeoutMs, hysteresis: { failAfter: schedule.failAfter, recoverAfter: schedule.recoverAfter } };
}

/** smartctl run here (configured, or as root), else the SMART report, judged by `clock`. */
function smartSource(hardware: AgentConfig['checks']['hardware'], clock: Clock): DiskHealthOptions['smart'] {
  const smartctl = smartctlArgv(hardware.smartctl, process.getuid?.());
  return smartctl ? { smartctl } : { report: hardware.smartReport, now: () => clock.now(), maxAgeMs: SMART_REPORT_MAX_AGE_MS };
}

/** Every check the config asks for; internet and system always run. */
export function buildChecks(config: AgentConfig, devices: Devices, centralConnected: () => boolean | Promise<boolean>, clock: Clock = systemClock): ScheduledCheck[] {
  const { internet, printer, camera, system, hardware } = config.checks;
  const checks = [
    scheduled(new InternetCheck(devices.probes, { timeoutMs: internet.timeoutMs, slowMs: internet.slowMs, centralConnected, defaultRoute: hasDefaultRoute }), internet),
    scheduled(new SystemCheck(devices.systemStats, system), system),
    scheduled(new TemperatureCheck(() => readTemperature(hardware.sysfsRoot), { highC: system.temperatureC, criticalC: hardware.temperatureCriticalC }), hardware),
    scheduled(new DiskHealthCheck(() => readDisks({ sysfsRoot: hardware.sysfsRoot, smart: smartSource(hardware, clock), timeoutMs: hardware.timeoutMs }), { wearPercent: hardware.wearPercent }), hardware),
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
  /** For AgentDeps.kitchen; undefined with no kitchen printer. */
  kitchen: ((store: OrderStore) => PrintQueue) | undefined;
  /** For AgentDeps.drawer: the drawer on the receipt printer. */
  drawer: CashDrawer | undefined;
  /** Releases the devices (the serial port); after agent.stop(). */
  close(): Promise<void>;
}

/**
 * The real checks and print queue for an Agent. `centralConnected` reports the MQTT link
 * (`() => agent.link.connected`); it is called only once the agent runs.
 */
export async function deviceDeps(config: AgentConfig, log: Logger, centralConnected: () => boolean, clock?: Clock): Promise<DeviceDeps> {
  const devices = await loadDevices(config);
  const { printer, kitchenPrinter } = devices;
  const language = receiptLanguage(config);
  const queue = (target: Printer, options: { kind: 'receipt' | 'kitchen'; retryMs: number; language: typeof language }) => (store: OrderStore) =>
    new PrintQueue(store, target, { log, timeZone: config.timeZone, ...options, ...(clock ? { clock } : {}) });
  return {
    close: () => devices.close(),
    health: (store) => new DeviceHealth({ checks: buildChecks(config, devices, centralConnected, clock), log, overrides: store, ...(clock ? { clock } : {}) }),
    receipts: printer ? queue(printer, { kind: 'receipt', retryMs: config.checks.printer.retryMs, language }) : undefined,
    kitchen: kitchenPrinter ? queue(kitchenPrinter, { kind: 'kitchen', retryMs: config.kitchenPrinter.retryMs, language: config.kitchenPrinter.language ?? language }) : undefined,
    drawer: printer ? new CashDrawer(printer, { pin: config.drawer.pin, pulseMs: config.drawer.pulseMs, log }) : undefined,
  };
}
