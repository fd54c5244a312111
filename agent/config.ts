import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { argvSchema } from '../lib/command.js';
import { SMART_REPORT_PATH } from '../drivers/smart-report.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import type { TlsFiles } from '../lib/http.js';
import { loadMenuFile } from './menu.js';
import { freeToBind, readableFile, throwProblems, writableDir } from '../lib/preflight.js';
import { Currency, Money, PointId } from '../sync/schemas.js';
import { DEFAULT_TIME_ZONE, isTimeZone } from '../sync/day-summary.js';
import { MAX_PEM_BYTES, MqttLogin, MqttUrl, mqttTlsFields, requireCertWithKey } from '../sync/mqtt.js';

const Pin = z.string().regex(/^\d{4,12}$/, 'must be 4 to 12 digits, as a string');

/** 127.0.0.0/8, ::1 and localhost: reachable from the box itself only. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const InternetTarget = z
  .string()
  .regex(/^(tcp:\/\/[^/:]+:\d{1,5}|https?:\/\/.+)$/, 'must be tcp://host:port or an http(s):// URL');

const DEFAULT_BROKER = 'mqtt://127.0.0.1:1883';

const Percent = z.number().min(1).max(100);

export const Language = z.enum(['ru', 'en', 'ka']);
export type Language = z.infer<typeof Language>;

const PrinterInterface = z
  .string()
  .regex(/^(none|tcp:\/\/[^/:]+:\d{1,5}|\/.+)$/, 'must be tcp://host:port, a serial path such as /dev/ttyUSB0, or none');

/** What a printer's paper holds: characters per line of font A, and dots for drawn text. */
const paperFields = {
  /** Characters per line: 48 on 80 mm paper, 32 on 58 mm. */
  width: z.number().int().min(24).max(64).default(48),
  /** 58 or 80 mm paper: drawn (raster) text is 384 or 576 dots wide. */
  paperWidthMm: z.union([z.literal(58), z.literal(80)]).default(80),
  /** Printable dots per line when the printer's differ from 384 / 576 (e.g. 512 on some 80 mm models). */
  dots: z.number().int().min(128).max(1024).optional(),
  /** Serial line speed; ignored for tcp://. */
  baudRate: z.number().int().min(1200).max(921_600).default(9600),
  /** Sending one receipt and reading the status after it. */
  printTimeoutMs: z.number().int().min(100).default(10_000),
  /** How often waiting receipts ask the printer whether it is back. */
  retryMs: z.number().int().min(100).default(3000),
};

/** Printable dots per line of a printer's paper. */
export function paperDots(paper: { paperWidthMm: 58 | 80; dots?: number | undefined }): number {
  return paper.dots ?? (paper.paperWidthMm === 58 ? 384 : 576);
}

/** Per-check schedule and hysteresis: a status changes after that many consecutive results. */
function checkSchedule(defaults: { intervalMs: number; timeoutMs: number; failAfter: number; recoverAfter: number }) {
  return {
    intervalMs: z.number().int().min(100).max(3_600_000).default(defaults.intervalMs),
    timeoutMs: z.number().int().min(50).max(120_000).default(defaults.timeoutMs),
    failAfter: z.number().int().min(1).max(100).default(defaults.failAfter),
    recoverAfter: z.number().int().min(1).max(100).default(defaults.recoverAfter),
  };
}

export const agentConfigSchema = z.strictObject({
  pointId: PointId,
  dataDir: z.string().min(1).default('./data/agent'),
  mqtt: z
    .strictObject({
      /** One broker: the shorthand of `urls` with one element. */
      url: MqttUrl.optional(),
      /** Brokers in order of preference: the next when one fails, the first again every `primaryRetryMs`. */
      urls: z.array(MqttUrl).min(1).max(10).optional(),
      /** While on a broker other than the first, how often the first is tried again. */
      primaryRetryMs: z.number().int().min(1000).max(86_400_000).default(30_000),
      username: MqttLogin.optional(),
      password: MqttLogin.optional(),
      ...mqttTlsFields,
      keepalive: z.number().int().min(1).max(3600).default(10),
      /** An order unacked this long is sent again even if the connection never dropped. */
      ackTimeoutMs: z.number().int().min(100).default(10_000),
      batchSize: z.number().int().min(1).max(1000).default(500),
      /** Orders in flight (sent, unacked) at most. */
      window: z.number().int().min(1).max(100_000).default(5000),
    })
    .superRefine(requireCertWithKey)
    .superRefine((mqtt, ctx) => {
      if (mqtt.url !== undefined && mqtt.urls !== undefined) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'set mqtt.url or mqtt.urls, not both (mqtt.url is the one-broker shorthand of mqtt.urls)' });
    })
    // `urls` is the list the link uses; `url` stays the first broker, the one checks and logs name.
    .transform(({ url, urls, ...rest }) => {
      const list = urls ?? [url ?? DEFAULT_BROKER];
      return { ...rest, url: list[0]!, urls: list };
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8088),
      /**
       * The page and API over HTTPS too (tablets run the page as an app only on a secure origin): a
       * server certificate from the franchise CA (`provision-point --server-cert`) and its key, PEM files.
       */
      tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      /** Where the HTTPS listener answers (same host), beside plain HTTP on `port`. */
      tlsPort: z.number().int().min(0).max(65535).default(8443),
    })
    .prefault({}),
  currency: Currency.default('GEL'),
  checks: z
    .strictObject({
      internet: z
        .strictObject({
          targets: z.array(InternetTarget).default([]),
          ...checkSchedule({ intervalMs: 1000, timeoutMs: 800, failAfter: 2, recoverAfter: 3 }),
          /** Targets that answer slower than this make the check degraded. */
          slowMs: z.number().int().min(1).default(500),
        })
        .prefault({}),
      printer: z
        .strictObject({
          interface: PrinterInterface.default('none'),
          ...checkSchedule({ intervalMs: 10_000, timeoutMs: 2000, failAfter: 1, recoverAfter: 1 }),
          ...paperFields,
        })
        .prefault({}),
      camera: z
        .strictObject({
          device: z
            .string()
            .regex(/^(none|\/dev\/video\d+|file:.+|TEST|https?:\/\/.+)$/, 'must be /dev/videoN, file:/path.jpg, TEST, an http(s):// snapshot URL, or none')
            .default('none'),
          ...checkSchedule({ intervalMs: 30_000, timeoutMs: 5000, failAfter: 1, recoverAfter: 1 }),
          /** fswebcam capture size for /dev/videoN: small is enough to tell black or frozen, and decodes fast. */
          resolution: z.string().regex(/^\d{2,5}x\d{2,5}$/, 'must be WIDTHxHEIGHT such as 640x480').default('320x240'),
          /** Frames fswebcam drops first on /dev/videoN (sensors start dark). */
          skipFrames: z.number().int().min(0).max(50).default(2),
          /** A frame whose mean luma (0-255) is under this is black. */
          blackLuma: z.number().min(0).max(255).default(16),
          /** This many identical frames in a row mean the camera is frozen. */
          frozenAfter: z.number().int().min(2).max(100).default(3),
        })
        .prefault({}),
      system: z
        .strictObject({
          ...checkSchedule({ intervalMs: 30_000, timeoutMs: 5000, failAfter: 1, recoverAfter: 1 }),
          /** Percent thresholds above which the box is degraded; `temperatureC` is the `temperature` check's (degraded above it). */
          cpuPercent: Percent.default(80),
          memoryPercent: Percent.default(80),
          diskPercent: Percent.default(80),
          temperatureC: z.number().min(20).max(150).default(80),
        })
        .prefault({}),
      /** Hardware health: the box's temperature (`temperature` check) and its disks (`disk` check). */
      hardware: z
        .strictObject({
          ...checkSchedule({ intervalMs: 60_000, timeoutMs: 10_000, failAfter: 2, recoverAfter: 1 }),
          /** Down above this (°C); degraded above `checks.system.temperatureC`. */
          temperatureCriticalC: z.number().min(20).max(150).default(90),
          /** eMMC/SD life used (%, the kernel's 10 % steps) at or above which the card is wearing out. */
          wearPercent: Percent.default(80),
          /** Where the kernel's sysfs is (thermal zones, /block/mmcblk*); a directory of files in tests. */
          sysfsRoot: z.string().min(1).default('/sys'),
          /**
           * Run smartctl (smartmontools) from the agent, `-H <device>` appended: a program name on PATH
           * or a path, or an argv. Default: `smartctl` when the agent runs as root (doctor); otherwise
           * the agent reads `smartReport` instead (its unit grants no privilege to ask a disk). A
           * program not installed → disk health unknown.
           */
          smartctl: z.union([z.string().min(1), argvSchema]).optional(),
          /**
           * The SMART report hotpot-smart.timer writes as root (`hotpot smart-report`), read when the
           * agent does not run smartctl itself; unknown when absent or older than two of its runs.
           */
          smartReport: z.string().min(1).default(SMART_REPORT_PATH),
        })
        .prefault({}),
    })
    .prefault({}),
  menuFile: z.string().min(1).optional(),
  language: Language.default('en'),
  /** What receipts and kitchen tickets print in, and how. */
  receipt: z
    .strictObject({
      /** Default: `language`. */
      language: Language.optional(),
      /** Cyrillic through a code page the printer has (ESC t), or drawn as an image like Georgian. */
      codePage: z.enum(['cp866', 'cp1251', 'raster']).default('cp866'),
      /** The printer's ESC t number for that code page, when it is not Epson's (17 for PC866, 46 for WPC1251). */
      codePageTable: z.number().int().min(0).max(255).optional(),
    })
    .prefault({}),
  /** A second printer in the kitchen: each order's ticket, printed once. A string is the interface alone. */
  kitchenPrinter: z.preprocess(
    (value) => (typeof value === 'string' ? { interface: value } : value),
    z
      .strictObject({
        interface: PrinterInterface.default('none'),
        ...paperFields,
        /** Default: the receipt language. */
        language: Language.optional(),
        /** Its status query (DLE EOT). */
        timeoutMs: z.number().int().min(50).max(120_000).default(2000),
      })
      .prefault({}),
  ),
  /** The cash drawer on the receipt printer's drawer port. */
  drawer: z
    .strictObject({
      /** Open it (ESC p) when a cash order is saved. */
      kickOnCash: z.boolean().default(false),
      /** The connector pin the drawer's solenoid is on. */
      pin: z.union([z.literal(2), z.literal(5)]).default(2),
      /** Length of the pulse. */
      pulseMs: z.number().int().min(10).max(500).default(100),
    })
    .prefault({}),
  /** The box's local time zone (IANA): "today" on the staff page and end-of-day days. */
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Tbilisi').default(DEFAULT_TIME_ZONE),
  /** Offline limits (minor units). Over one, an order taken while offline needs the manager PIN. */
  limits: z
    .strictObject({
      /** The most one order taken offline may total. */
      maxOrderTotal: Money.optional(),
      /** The most all offline orders not yet synced may total together, this one included. */
      maxOfflineTotal: Money.optional(),
      /** An order may be voided without the manager PIN this long after it was taken. */
      voidWithoutPinMinutes: z.number().int().min(0).max(1440).default(5),
      /** An order entered with a `takenAt` older than this many minutes needs the manager PIN. */
      lateEntryMinutes: z.number().int().min(0).max(100_000).default(15),
      /** An order entered with a `takenAt` older than this many hours is refused. */
      lateEntryMaxHours: z.number().int().min(1).max(10_000).default(72),
    })
    .prefault({}),
  pins: z
    .strictObject({
      /** Approves orders over an offline limit, and voids past limits.voidWithoutPinMinutes. */
      manager: Pin.optional(),
      /** Unlocks the staff page when http.host is not loopback (required then). */
      staff: Pin.optional(),
    })
    .prefault({}),
}).superRefine((config, ctx) => {
  if (config.drawer.kickOnCash && config.checks.printer.interface === 'none') {
    ctx.addIssue({ code: 'custom', path: ['drawer', 'kickOnCash'], message: 'needs checks.printer.interface: the drawer opens through the receipt printer' });
  }
  if (!isLoopbackHost(config.http.host) && !config.pins.staff) {
    ctx.addIssue({ code: 'custom', path: ['pins', 'staff'], message: `is required when http.host (${config.http.host}) is not loopback: the staff page would be open to the whole LAN` });
  }
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** The language receipts print in: `receipt.language`, else the page's `language`. */
export function receiptLanguage(config: Pick<AgentConfig, 'language' | 'receipt'>): Language {
  return config.receipt.language ?? config.language;
}

/** A menu file larger than this is not a menu. */
export const MAX_MENU_FILE_BYTES = 4 * 1024 * 1024;

/** What the config names on this machine: files, the data dir, the HTTP port. Throws ConfigError. */
export async function preflightAgent(config: AgentConfig): Promise<void> {
  const { mqtt } = config;
  throwProblems([
    writableDir('dataDir', config.dataDir),
    readableFile('menuFile', config.menuFile, MAX_MENU_FILE_BYTES) ?? menuProblem(config.menuFile),
    readableFile('mqtt.ca', mqtt.ca, MAX_PEM_BYTES),
    readableFile('mqtt.cert', mqtt.cert, MAX_PEM_BYTES),
    readableFile('mqtt.key', mqtt.key, MAX_PEM_BYTES),
    await freeToBind('http.port', config.http.host, config.http.port),
  ]);
}

function menuProblem(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    loadMenuFile(file);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function loadAgentConfig(file?: string, env: NodeJS.ProcessEnv = process.env, base?: Record<string, unknown>): AgentConfig {
  const config = loadConfig(agentConfigSchema, { file, env, ...(base ? { base } : {}) });
  if (config.http.tls) readHttpTls(config.http.tls);
  return config;
}

/**
 * `http.tls`'s files, checked: readable, a certificate, a private key, and the key the certificate's.
 * A ConfigError names the key and what to do, so a bad file stops the agent at start, not at a tablet.
 */
export function readHttpTls(tls: { cert: string; key: string }): TlsFiles {
  const read = (key: 'cert' | 'key'): Buffer => {
    try {
      return readFileSync(tls[key]);
    } catch (error) {
      throw new ConfigError([`http.tls.${key}: cannot read ${tls[key]} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): issue one with hotpot provision-point --server-cert NAME…`]);
    }
  };
  const files = { cert: read('cert'), key: read('key') };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(files.cert);
  } catch {
    throw new ConfigError([`http.tls.cert: ${tls.cert} is not a PEM certificate`]);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(files.key);
  } catch {
    throw new ConfigError([`http.tls.key: ${tls.key} is not a PEM private key`]);
  }
  if (!cert.checkPrivateKey(key)) throw new ConfigError([`http.tls.key: ${tls.key} is not the key of ${tls.cert}: give the pair provision-point wrote together`]);
  return files;
}
