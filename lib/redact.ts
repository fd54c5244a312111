/**
 * Secrets never reach a log, an audit line or an error (DESIGN principle 5). One censor and one
 * set of rules for all three: pino blanks the secret config paths of every log line, and text
 * bound for an audit, an error or a log field (command output, a URL) goes through a redactor.
 */
export const CENSOR = '[redacted]';

export type Redact = (text: string) => string;

/** Paths pino blanks in every log line. */
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

/** Things that look like secrets whatever the config says. */
const PATTERNS: Array<[RegExp, string]> = [
  // password=..., PGPASSWORD=..., "token": "...", api_key: ..., ?access_token=... in a URL
  [/\b([\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[\w-]*)(["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi, `$1$2${CENSOR}`],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${CENSOR}`],
  // scheme://user:password@host (the user may be empty)
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${CENSOR}@`],
];

/**
 * Redacts what looks like a secret whatever the config says: the password of a URL, a secret-looking
 * query parameter (`?access_token=…`), `password=…`, `"token": …`, bearer and basic credentials.
 * A URL shown in a log, an audit line or an error goes through this.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Redacts configured secret values (4 characters or more) and secret-looking patterns. */
export function createRedactor(secrets: readonly string[]): Redact {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return redactSecrets;
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join(CENSOR);
    return redactSecrets(out);
  };
}

/** The passwords inside URLs (postgres://user:password@host/db): secrets to redact wherever they appear. */
export function urlPasswords(urls: readonly string[]): string[] {
  return urls.flatMap((raw) => {
    try {
      const password = decodeURIComponent(new URL(raw).password);
      return password ? [password] : [];
    } catch {
      return [];
    }
  });
}
