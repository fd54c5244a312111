/** What a receipt printer reports through DLE EOT (ESC/POS real-time status). */
export interface PrinterFlags {
  offline: boolean;
  coverOpen: boolean;
  /** Paper is being fed with the FEED button. */
  feeding: boolean;
  paperNearEnd: boolean;
  paperEnd: boolean;
  /** An error (cutter jam, head overheat, ...) stops printing. */
  error: boolean;
  /** The error clears by itself or after the cover is closed. */
  recoverableError: boolean;
  cutterError: boolean;
}

/** One line or element of a receipt; the driver turns it into ESC/POS. */
export type ReceiptBlock =
  | { kind: 'text'; text: string; align?: 'left' | 'center' | 'right'; bold?: boolean; large?: boolean }
  | { kind: 'pair'; left: string; right: string; bold?: boolean }
  | { kind: 'rule' }
  | { kind: 'qr'; data: string };

export interface Printer {
  /** Where the printer is, e.g. `tcp://10.0.0.5:9100` or `/dev/ttyUSB0`. */
  readonly address: string;
  /** Asks the printer (DLE EOT 1..4); throws when it cannot be reached or does not answer in time. */
  status(): Promise<PrinterFlags>;
  /**
   * Sends one receipt (then a cut) and resolves with the status the printer reported after
   * reading it: that answer is the confirmation that the bytes reached the printer.
   */
  print(receipt: ReceiptBlock[]): Promise<PrinterFlags>;
  /** Pulses the cash drawer wired to the printer (ESC p on pin 2 or 5); resolves with the status after it. */
  kickDrawer(pin: 2 | 5, pulseMs: number): Promise<PrinterFlags>;
  close(): Promise<void>;
}

export interface Camera {
  /** `/dev/video0`, `file:/x.jpg`, `TEST` or a snapshot URL. */
  readonly address: string;
  /** One frame as JPEG bytes; throws when nothing usable came back in time. */
  capture(timeoutMs: number): Promise<Buffer>;
}

export interface ProbeResult {
  target: string;
  ok: boolean;
  latencyMs: number;
  /** errno-style code (ECONNREFUSED, ENETUNREACH, ETIMEDOUT, HTTP_503, ...) when not ok. */
  code?: string;
  message?: string;
}

/** One internet target: reachable or not, and how fast. Never throws. */
export interface Probe {
  readonly target: string;
  check(timeoutMs: number): Promise<ProbeResult>;
}

export interface SystemStats {
  cpuPercent: number;
  memoryPercent: number;
  /** Usage of the filesystem that holds the data directory. */
  diskPercent: number;
  /** CPU temperature in °C; null where the box does not expose it. */
  temperatureC: number | null;
}
