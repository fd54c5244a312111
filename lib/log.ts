import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths pino blanks in every log line: secrets never reach logs. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'pin',
  '*.pin',
  '*.managerPin',
  '*.staffPin',
  'config.mqtt.password',
  'config.mqtt.ca',
];

export interface LoggerOptions {
  name: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.HOTPOT_LOG_LEVEL ?? 'info';
  const opts = { name: options.name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing: for library use in tests that assert on other things. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
