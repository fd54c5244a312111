/** Content types of the static files the agent's page and central's dashboard serve. */
export const STATIC_CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Headers for a page that loads everything from its own origin: no CDN, no inline script.
 * `extra` adds CSP directives (e.g. the dashboard's inline chart styles).
 */
export function selfOnlyPageHeaders(extra: { styleSrc?: string; formAction?: boolean } = {}): Record<string, string> {
  const directives = [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${extra.styleSrc ? ` ${extra.styleSrc}` : ''}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    ...(extra.formAction ? ["form-action 'self'"] : []),
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ];
  return { 'content-security-policy': directives.join('; '), 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
}
