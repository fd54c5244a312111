/**
 * The box's hardware health: CPU temperature from the kernel's thermal zones, disk health from
 * `smartctl -H` (run here as root, else read from the SMART report: smart-report.ts), and eMMC/SD
 * wear from the kernel's mmc attributes. Every reader takes the sysfs root (`/sys` in production,
 * a directory of files in tests); the assessments are pure.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../lib/command.js';
import { readSmartReport, smartFromReport, type SmartDisk } from './smart-report.js';

export type HardwareStatus = 'up' | 'degraded' | 'down' | 'unknown';

export interface HardwareAssessment {
  status: HardwareStatus;
  detail: string;
  data: Record<string, number | string | null>;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

async function readText(file: string): Promise<string | null> {
  return readFile(file, 'utf8').then(
    (text) => text.trim(),
    () => null,
  );
}

async function readNumber(file: string): Promise<number | null> {
  const value = Number(await readText(file));
  return Number.isFinite(value) && value > 0 ? value : null;
}

/**
 * CPU temperature (°C) from `<sysfs>/class/thermal` zones, or hwmon sensors; null where the box
 * has neither (VMs, containers). A zone named like the CPU wins over the hottest zone.
 */
export async function readTemperature(sysfsRoot = '/sys'): Promise<number | null> {
  const thermal = join(sysfsRoot, 'class/thermal');
  const zones = (await readdir(thermal).catch(() => [] as string[])).filter((name) => name.startsWith('thermal_zone'));
  const readings = await Promise.all(
    zones.map(async (zone) => ({ type: (await readText(join(thermal, zone, 'type'))) ?? '', milli: await readNumber(join(thermal, zone, 'temp')) })),
  );
  const valid = readings.filter((r): r is { type: string; milli: number } => r.milli !== null);
  if (valid.length === 0) {
    const hwmonDir = join(sysfsRoot, 'class/hwmon');
    const hwmon = await readdir(hwmonDir).catch(() => [] as string[]);
    const inputs = await Promise.all(hwmon.map((name) => readNumber(join(hwmonDir, name, 'temp1_input'))));
    const hottest = Math.max(...inputs.filter((v): v is number => v !== null));
    return Number.isFinite(hottest) ? round1(hottest / 1000) : null;
  }
  const cpu = valid.find((r) => /cpu|x86_pkg|soc|core/i.test(r.type));
  return round1((cpu ?? valid.reduce((a, b) => (b.milli > a.milli ? b : a))).milli / 1000);
}

export interface TemperatureLimits {
  /** Above this the box is degraded. */
  highC: number;
  /** Above this it is down (it will throttle or shut itself off). */
  criticalC: number;
}

/** Pure: the temperature's verdict; a box without a sensor is `unknown`, never down. */
export function assessTemperature(celsius: number | null, limits: TemperatureLimits): HardwareAssessment {
  if (celsius === null) return { status: 'unknown', detail: 'no temperature sensor in /sys (thermal zones or hwmon)', data: { temperatureC: null } };
  const data = { temperatureC: celsius };
  if (celsius > limits.criticalC) return { status: 'down', detail: `temperature over ${limits.criticalC} °C: cool the box or it will shut down`, data };
  if (celsius > limits.highC) return { status: 'degraded', detail: `temperature over ${limits.highC} °C: check the box's ventilation`, data };
  return { status: 'up', detail: `temperature within ${limits.highC} °C`, data };
}

/** What `smartctl -H` said of one device. */
export type SmartReading = SmartDisk;

/** One eMMC/SD card's wear as the kernel reports it (JEDEC EXT_CSD). */
export interface WearReading {
  device: string;
  /** Upper bound of the life used, in %, the worse of types A and B (0x0B: over 100). */
  lifeUsedPercent: number | null;
  /** PRE_EOL_INFO: 1 normal, 2 warning (80 % of reserved blocks), 3 urgent (90 %). */
  preEol: number | null;
}

export interface DiskReadings {
  /** null when no verdict can be had: smartctl is not installed, or `smartMissing` says why. */
  smart: SmartReading[] | null;
  /** Why `smart` is null when it is not for want of smartctl (no SMART report, a stale one). */
  smartMissing?: string;
  wear: WearReading[];
}

/** Pure: the verdict of `smartctl -H` output (ATA: PASSED/FAILED!, SCSI and NVMe: OK). */
export function parseSmartHealth(output: string): SmartReading['verdict'] {
  if (/self-assessment test result:\s*FAILED|SMART Health Status:\s*(?!OK)\S/i.test(output)) return 'failed';
  if (/self-assessment test result:\s*PASSED|SMART Health Status:\s*OK/i.test(output)) return 'passed';
  return 'unknown';
}

/**
 * Whole disks smartctl can ask (SATA/SCSI/USB and NVMe), from `<sysfs>/block`; hotpot-smart.service
 * may open exactly these (DeviceAllow=block-sd, block-blkext).
 */
export async function smartDevices(sysfsRoot = '/sys'): Promise<string[]> {
  const names = await readdir(join(sysfsRoot, 'block')).catch(() => [] as string[]);
  return names.filter((name) => /^(sd[a-z]+|nvme\d+n\d+)$/.test(name)).sort().map((name) => `/dev/${name}`);
}

/**
 * Pure: the argv that runs smartctl here (`-H <device>` is appended), or null: read the SMART
 * report instead. Configured: a program (a name on PATH or a path) or a whole argv. Not
 * configured: smartctl itself as root (doctor run by root); any other user cannot ask the disks
 * (the agent's unit grants no privilege), so it reads what hotpot-smart.timer wrote.
 */
export function smartctlArgv(configured: string | readonly string[] | undefined, uid: number | undefined): string[] | null {
  if (typeof configured === 'string') return [configured];
  if (configured) return [...configured];
  return uid === 0 ? ['smartctl'] : null;
}

/** `smartctl -H` for each device, through `smartctl` (an argv); null when its program is not installed. */
export async function readSmart(devices: readonly string[], smartctl: readonly string[], timeoutMs: number): Promise<SmartReading[] | null> {
  const readings: SmartReading[] = [];
  for (const device of devices) {
    const result = await runCommand({ argv: [...smartctl, '-H', device], timeoutMs }, { tailChars: 2000 });
    if (result.errorCode === 'ENOENT') return null;
    const verdict = result.timedOut ? 'unknown' : parseSmartHealth(result.output);
    const line = result.output.split('\n').find((l) => /result:|Health Status:/i.test(l))?.trim();
    readings.push({ device, verdict, detail: result.timedOut ? `smartctl -H ${device} timed out` : (line ?? (result.error || result.output.trim().split('\n').pop() || 'no verdict')) });
  }
  return readings;
}

const hexByte = (text: string | undefined): number | null => {
  const value = text ? Number.parseInt(text, 16) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : null;
};

/** eMMC/SD wear from `<sysfs>/block/mmcblkN/device/{life_time,pre_eol_info}`, where the kernel exposes them. */
export async function readWear(sysfsRoot = '/sys'): Promise<WearReading[]> {
  const names = (await readdir(join(sysfsRoot, 'block')).catch(() => [] as string[])).filter((name) => /^mmcblk\d+$/.test(name)).sort();
  const readings = await Promise.all(
    names.map(async (name): Promise<WearReading | null> => {
      const dir = join(sysfsRoot, 'block', name, 'device');
      const [life, eol] = await Promise.all([readText(join(dir, 'life_time')), readText(join(dir, 'pre_eol_info'))]);
      if (life === null && eol === null) return null;
      const steps = (life ?? '').split(/\s+/).map(hexByte).filter((v): v is number => v !== null);
      return { device: `/dev/${name}`, lifeUsedPercent: steps.length ? Math.max(...steps) * 10 : null, preEol: hexByte(eol ?? undefined) };
    }),
  );
  return readings.filter((r): r is WearReading => r !== null);
}

export interface DiskLimits {
  /** Life used (eMMC/SD, in 10 % steps) at or above which the card is wearing out. */
  wearPercent: number;
}

/**
 * Pure: the disks' verdict. down: smartctl says FAILED, pre-EOL urgent or the life used past 100 %;
 * degraded: pre-EOL warning or wear at `wearPercent`; unknown: nothing could be asked (no
 * SMART verdict — no smartctl, no fresh report — and no mmc attributes), which is never down.
 */
export function assessDisks(readings: DiskReadings, limits: DiskLimits): HardwareAssessment {
  const down: string[] = [];
  const degraded: string[] = [];
  const fine: string[] = [];
  for (const s of readings.smart ?? []) {
    if (s.verdict === 'failed') down.push(`${s.device} failing (smartctl: ${s.detail}): replace the disk`);
    else if (s.verdict === 'passed') fine.push(`${s.device} SMART passed`);
  }
  for (const w of readings.wear) {
    if (w.preEol === 3) down.push(`${w.device} reserved blocks 90 % used (pre-EOL urgent): replace the card`);
    else if (w.lifeUsedPercent !== null && w.lifeUsedPercent > 100) down.push(`${w.device} past its rated life: replace the card`);
    else if (w.preEol === 2) degraded.push(`${w.device} reserved blocks 80 % used (pre-EOL warning): plan a replacement`);
    else if (w.lifeUsedPercent !== null && w.lifeUsedPercent >= limits.wearPercent) degraded.push(`${w.device} up to ${w.lifeUsedPercent} % of its life used: plan a replacement`);
    else fine.push(`${w.device} wear ${w.lifeUsedPercent ?? '?'} %`);
  }
  const worstWear = Math.max(-1, ...readings.wear.map((w) => w.lifeUsedPercent ?? -1));
  const data = {
    smartFailed: (readings.smart ?? []).filter((s) => s.verdict === 'failed').length,
    wearPercent: worstWear >= 0 ? worstWear : null,
    preEol: Math.max(0, ...readings.wear.map((w) => w.preEol ?? 0)) || null,
  };
  if (down.length) return { status: 'down', detail: down.join('; '), data };
  if (degraded.length) return { status: 'degraded', detail: degraded.join('; '), data };
  // Up on the wear alone, saying what is not known of the other disks.
  if (fine.length) return { status: 'up', detail: [...fine, ...(readings.smartMissing ? [`SMART not known: ${readings.smartMissing}`] : [])].join('; '), data };
  const why = readings.smartMissing ?? (readings.smart === null ? 'smartctl is not installed (apt install smartmontools)' : readings.smart.length === 0 ? 'no SATA or NVMe disk in /sys/block' : `smartctl gave no verdict (${readings.smart[0]!.detail})`);
  return { status: 'unknown', detail: `disk health not known: ${why}, and the kernel shows no eMMC/SD wear`, data };
}

export interface DiskHealthOptions {
  sysfsRoot: string;
  /**
   * Where the whole disks' verdicts come from: smartctl run here (the argv before `-H <device>`,
   * smartctlArgv), or the SMART report hotpot-smart.timer writes, judged at `now()` (stale past `maxAgeMs`).
   */
  smart: { smartctl: readonly string[] } | { report: string; now: () => number; maxAgeMs: number };
  timeoutMs: number;
}

/** Reads every disk's health (SMART verdicts for whole disks, sysfs wear for eMMC/SD). */
export async function readDisks(options: DiskHealthOptions): Promise<DiskReadings> {
  const [devices, wear] = await Promise.all([smartDevices(options.sysfsRoot), readWear(options.sysfsRoot)]);
  const { smart } = options;
  if ('smartctl' in smart) return { smart: await readSmart(devices, smart.smartctl, options.timeoutMs), wear };
  // No whole disk (an eMMC-only box): no report is needed.
  if (devices.length === 0) return { smart: [], wear };
  const read = await readSmartReport(smart.report).catch((error: unknown) => error as Error);
  const judged = smartFromReport(read, smart.report, smart.now(), smart.maxAgeMs);
  return judged.smart ? { smart: judged.smart, wear } : { smart: null, smartMissing: judged.missing, wear };
}
