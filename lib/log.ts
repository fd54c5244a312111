import { pino, stdSerializers, type Logger, type DestinationStream } from 'pino';
import { CENSOR, REDACT_PATHS, redactSecrets } from './redact.js';

export type { Logger };

/** An error (or its message) logged as `err`: a URL or credential quoted in it is redacted. */
function serializeError(err: unknown): unknown {
  if (typeof err === 'string') return redactSecrets(err);
  if (!(err instanceof Error)) return err;
  const serialized = stdSerializers.err(err);
  serialized.message = redactSecrets(serialized.message);
  if (serialized.stack) serialized.stack = redactSecrets(serialized.stack);
  return serialized;
}

export interface LoggerOptions {
  name: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.HOTPOT_LOG_LEVEL ?? 'info';
  const opts = { name: options.name, level, redact: { paths: REDACT_PATHS, censor: CENSOR }, serializers: { err: serializeError } };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing: for library use in tests that assert on other things. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
