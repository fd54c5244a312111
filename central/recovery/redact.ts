const CENSOR = '[redacted]';

/** Things that look like secrets whatever the config says. */
const PATTERNS: Array<[RegExp, string]> = [
  // password=..., PGPASSWORD=..., "token": "...", api_key: ...
  [/\b([\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[\w-]*)(["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi, `$1$2${CENSOR}`],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${CENSOR}`],
  // scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${CENSOR}@`],
];

/** Redacts configured secret values and secret-looking patterns from text bound for an audit or log. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join(CENSOR);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/** Passwords inside postgres:// URLs of the config are secrets too. */
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
