import type { Camera, Printer, PrinterFlags, Probe, SystemStats } from './types.js';
import type { PrinterOptions } from './printer.js';

export type { Camera, Printer, PrinterFlags, Probe, ProbeResult, ReceiptBlock, SystemStats } from './types.js';
export type { PrinterOptions } from './printer.js';
export type { FrameInfo } from './frame.js';
export { CaptureError } from './frame.js';
export { assessPrinter, decodeStatus, STATUS_QUERY, CODE_PAGES, type CodePageName, type PrinterAssessment } from './escpos.js';
export { DeviceUnreachableError } from './channel.js';

/**
 * Each driver module is imported only when its device is configured, and a module that fails
 * to load (a broken native build, a missing package) becomes a driver whose every call fails
 * with that reason: the check reports it, the agent keeps running.
 */
async function load<T>(what: string, loader: () => Promise<T>): Promise<T | Error> {
  try {
    return await loader();
  } catch (error) {
    return new Error(`the ${what} driver failed to load: ${(error as Error).message}`);
  }
}

export async function loadPrinter(options: PrinterOptions): Promise<Printer | null> {
  if (options.address === 'none') return null;
  const made = await load('printer', async () => new (await import('./printer.js')).EscPosPrinter(options));
  if (!(made instanceof Error)) return made;
  const fail = () => Promise.reject(made);
  return { address: options.address, status: fail, print: fail as () => Promise<PrinterFlags>, kickDrawer: fail as () => Promise<PrinterFlags>, close: async () => undefined };
}

export async function loadCamera(device: string, options: { resolution: string; skipFrames: number }): Promise<Camera | null> {
  if (device === 'none') return null;
  const made = await load('camera', async () => {
    const camera = await import('./camera.js');
    return /^https?:\/\//.test(device) ? new camera.HttpSnapshotCamera(device) : new camera.FswebcamCamera(device, options);
  });
  if (!(made instanceof Error)) return made;
  return { address: device, capture: () => Promise.reject(made) };
}

/** Measures one JPEG frame: size, mean luma, hash (the camera driver, loaded on first use). */
export async function inspectJpeg(bytes: Buffer) {
  return (await import('./camera.js')).inspectJpeg(bytes);
}

export async function loadProbes(targets: readonly string[]): Promise<Probe[]> {
  if (targets.length === 0) return [];
  const { createProbe } = await import('./network.js');
  return targets.map(createProbe);
}

export async function hasDefaultRoute(): Promise<boolean | null> {
  return (await import('./network.js')).hasDefaultRoute();
}

/** A reader of the box's CPU, memory, disk (of `dataDir`) and temperature; CPU is measured between reads. */
export async function loadSystemStats(dataDir: string): Promise<() => Promise<SystemStats>> {
  const reader = new (await import('./system.js')).SystemStatsReader(dataDir);
  return () => reader.read();
}
