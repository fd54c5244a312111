import { z } from 'zod';
import { describeFailure, runCommand, succeeded } from './command.js';
import type { Logger } from './log.js';

/**
 * systemd's notify protocol (Type=notify, WatchdogSec=) for a Node process.
 *
 * Node has no unix datagram sockets, so each message goes through the `systemd-notify` binary.
 * That child is a different PID from ours, hence `NotifyAccess=all` in the unit. systemd-notify
 * (systemd >= 246) waits on a BARRIER until the manager has processed the message, which closes
 * the old race where the sender exited before systemd could map it to our unit.
 */
export interface SdNotifier {
  /** True when systemd is listening (NOTIFY_SOCKET is set). */
  readonly enabled: boolean;
  /** Tells systemd start-up is complete. Call once the service is really serving. */
  ready(): Promise<void>;
  /** Stops the watchdog pings (call on shutdown). */
  stop(): void;
}

export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** The watchdog is pinged only while this holds, so a wedged service gets restarted. */
  alive?: () => boolean;
  /** The notify binary; tests may point elsewhere. */
  notifyBin?: string;
}

/** systemd-notify's own barrier wait is 5 s; give it room on a loaded box. */
const NOTIFY_TIMEOUT_MS = 10_000;

const NotifyEnv = z.object({
  NOTIFY_SOCKET: z.string().min(1).optional(),
  WATCHDOG_USEC: z.coerce.number().int().positive().optional(),
  WATCHDOG_PID: z.coerce.number().int().positive().optional(),
});

/** How often to ping: half the watchdog period, as sd_watchdog_enabled(3) advises; null when off. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number = process.pid): number | null {
  const parsed = NotifyEnv.safeParse(env);
  if (!parsed.success || !parsed.data.NOTIFY_SOCKET || !parsed.data.WATCHDOG_USEC) return null;
  // WATCHDOG_PID names the process systemd watches; a child that inherited our env must not ping.
  if (parsed.data.WATCHDOG_PID !== undefined && parsed.data.WATCHDOG_PID !== pid) return null;
  return Math.max(1, Math.floor(parsed.data.WATCHDOG_USEC / 2000));
}

/** Starts the watchdog pings (when systemd asked for them) and returns the notifier. */
export function startSdNotify(log: Logger, options: SdNotifyOptions = {}): SdNotifier {
  const env = options.env ?? process.env;
  const bin = options.notifyBin ?? 'systemd-notify';
  // Judged alone: a malformed WATCHDOG_USEC must not cost us READY=1 (systemd would kill us).
  const enabled = NotifyEnv.shape.NOTIFY_SOCKET.safeParse(env.NOTIFY_SOCKET).data !== undefined;
  if (!enabled) return { enabled, ready: async () => {}, stop: () => {} };

  const send = async (assignment: string) => {
    const spec = { argv: [bin, assignment], env, timeoutMs: NOTIFY_TIMEOUT_MS };
    const result = await runCommand(spec);
    if (!succeeded(result)) log.warn({ assignment, err: describeFailure(spec, result) }, 'sd_notify failed');
  };

  let timer: NodeJS.Timeout | undefined;
  const intervalMs = watchdogIntervalMs(env);
  if (intervalMs !== null) {
    let pinging = false;
    let wasAlive = true;
    const ping = async () => {
      pinging = true;
      try {
        await send('WATCHDOG=1');
      } finally {
        pinging = false;
      }
    };
    timer = setInterval(() => {
      const alive = options.alive?.() ?? true;
      if (alive !== wasAlive) log.warn({ alive }, alive ? 'watchdog pings resumed' : 'not alive: withholding watchdog pings, systemd will restart us');
      wasAlive = alive;
      if (alive && !pinging) ping().catch((error: unknown) => log.warn({ err: String(error) }, 'watchdog ping failed'));
    }, intervalMs);
    timer.unref();
    log.info({ intervalMs }, 'systemd watchdog pings started');
  }

  return {
    enabled,
    ready: () => send('READY=1'),
    stop: () => clearInterval(timer),
  };
}
