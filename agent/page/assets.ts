import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { HttpError, type Reply } from '../../lib/http.js';
import { STATIC_CONTENT_TYPES, selfOnlyPageHeaders } from '../../lib/static.js';

const TYPES = STATIC_CONTENT_TYPES;

/** Everything the page loads comes from the box itself: no CDN, no inline script. */
const SECURITY_HEADERS = selfOnlyPageHeaders({ formAction: true });

const REQUIRED = ['index.html', 'login.html', 'app.js', 'app.css', 'i18n.js', 'login.js'];

/**
 * The staff page's static files (agent/page/static, next to the sources: tsc does not copy them to
 * dist/), read once at start. Missing files do not stop the agent — the order API and sync keep
 * running — but `problem` says what is wrong, and the page answers 503 saying it.
 */
export class PageAssets {
  private readonly files = new Map<string, Reply>();
  readonly problem: string | null;

  constructor(readonly dir = join(packageRoot(), 'agent', 'page', 'static')) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // reported below as missing files
    }
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (type) this.files.set(name, { status: 200, text: readFileSync(join(dir, name)), headers: { 'content-type': type, ...SECURITY_HEADERS } });
    }
    const missing = REQUIRED.filter((name) => !this.files.has(name));
    this.problem = missing.length ? `the staff page is incomplete: ${missing.join(', ')} missing from ${dir} (the install must include agent/page/static)` : null;
  }

  /** The file's reply: 404 for a name that is not one of the page's files, 503 when the install lacks it. */
  reply(name: string): Reply {
    const reply = this.files.get(name);
    if (reply) return reply;
    if (this.problem && REQUIRED.includes(name)) throw new HttpError(503, { error: this.problem });
    throw new HttpError(404, { error: `no such file: ${name}` });
  }
}
