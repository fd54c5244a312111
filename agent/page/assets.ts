import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { HttpError, type Reply } from '../../lib/http.js';
import { StaticFiles, selfOnlyPageHeaders } from '../../lib/static.js';

/** fonts.css and the font files are made by the build (agent/page/build-fonts.ts). */
const REQUIRED = ['index.html', 'login.html', 'app.js', 'app.css', 'i18n.js', 'login.js', 'fonts.css', 'tablet.js', 'sw.js', 'manifest.webmanifest'];

/** Everything the page loads comes from the box itself: no CDN, no inline script; its fonts too. */
const PAGE_HEADERS = selfOnlyPageHeaders({ formAction: true });
// The page as an app: its manifest and its service worker (sw.js) come from the box too.
const SECURITY_HEADERS = { ...PAGE_HEADERS, 'content-security-policy': `${PAGE_HEADERS['content-security-policy']}; font-src 'self'; manifest-src 'self'; worker-src 'self'` };

/**
 * The staff page's static files (agent/page/static, next to the sources: tsc does not copy them to
 * dist/), read once at start. Missing files do not stop the agent — the order API and sync keep
 * running — but `problem` says what is wrong, and the page answers 503 saying it.
 */
export class PageAssets {
  /** Everything the page loads comes from the box itself: no CDN, no inline script. */
  private readonly files: StaticFiles;
  readonly problem: string | null;

  constructor(readonly dir = join(packageRoot(), 'agent', 'page', 'static')) {
    this.files = new StaticFiles(dir, { headers: SECURITY_HEADERS });
    const missing = REQUIRED.filter((name) => !this.files.has(name));
    this.problem = missing.length ? `the staff page is incomplete: ${missing.join(', ')} missing from ${dir} (the install must include agent/page/static)` : null;
  }

  /** The file's reply (304 when the browser's copy is current): 404 for a name that is not one of the page's files, 503 when the install lacks it. */
  reply(name: string, request: Pick<IncomingHttpHeaders, 'if-none-match'> = {}): Reply {
    if (this.problem && REQUIRED.includes(name) && !this.files.has(name)) throw new HttpError(503, { error: this.problem });
    return this.files.reply(name, request);
  }

  /** An HTML file with its `<html lang>` set to `language` (the page's scripts start from it). */
  inLanguage(name: string, language: string, request: Pick<IncomingHttpHeaders, 'if-none-match'> = {}): Reply {
    // This copy's ETag names the language too: a box whose language changed never answers 304 for the old one.
    const reply = this.reply(name);
    const etag = reply.headers?.etag?.replace(/"$/, `-${language}"`);
    if (etag && request['if-none-match'] === etag) return { status: 304, headers: { ...reply.headers, etag }, text: '' };
    return { ...reply, headers: { ...reply.headers, ...(etag ? { etag } : {}) }, text: String(reply.text).replace(/<html lang="[a-z]+">/, `<html lang="${language}">`) };
  }
}
