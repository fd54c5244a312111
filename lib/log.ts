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
  // agent: the staff and manager PINs (config `pins.*`) and a PIN sent with an order.
  'pins',
  '*.pins',
  'managerPin',
  'config.mqtt.password',
  'config.mqtt.ca',
  // notify: SMTP password, Twilio token, ack-link key, and webhook URLs (a Slack webhook URL is its own credential).
  ...['config.notify', 'notify'].flatMap((root) =>
    [
      'signingSecret',
      'channels.email.auth.pass',
      'channels.twilio.authToken',
      'channels.chat.webhookUrl',
      'channels.webhook.url',
      'channels.webhook.headers.*',
      'contacts[*].chatWebhook',
    ].map((path) => `${root}.${path}`),
  ),
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
