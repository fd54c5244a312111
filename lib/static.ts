import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { extname, join } from 'node:path';
import { defineError } from './errors.js';
import type { Reply } from './http.js';

/** Content types of the static files the agent's page and central's dashboard serve. */
export const STATIC_CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
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

/** The one answer for a name that is not a served file, whatever the reason (no hint of what exists). */
export const NoSuchFile = defineError('NO_FILE', 404, (name: string) => `no such file: ${name}`);

/** A plain file name: no directory part, no leading dot, nothing a path could climb out with. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface StaticFilesOptions {
  /** Sent with every file (the page's security headers). */
  headers: Record<string, string>;
  /** Which of the directory's files are served; default every file of a known content type. */
  only?: (name: string) => boolean;
}

interface StaticFile {
  bytes: Buffer;
  headers: Record<string, string>;
}

/**
 * One directory's files, served from memory: read on first use (they change only with an install),
 * each with its content type, the page's security headers and an ETag, so a browser revalidates
 * (`If-None-Match` → 304) instead of fetching again. Only names that are files of the directory
 * are served: a path never reaches the disk.
 */
export class StaticFiles {
  private files: Map<string, StaticFile> | undefined;

  constructor(
    readonly dir: string,
    private readonly options: StaticFilesOptions,
  ) {}

  /** Whether `name` is one of the served files. */
  has(name: string): boolean {
    return this.loaded().has(name);
  }

  /** 200 with the file, 304 when `If-None-Match` names its current ETag; 404 for any other name. */
  reply(name: string, request: Pick<IncomingHttpHeaders, 'if-none-match'> = {}): Reply {
    const file = SAFE_NAME.test(name) ? this.loaded().get(name) : undefined;
    if (!file) throw NoSuchFile(name);
    if (matchesEtag(request['if-none-match'], file.headers.etag!)) return { status: 304, headers: file.headers, text: '' };
    return { status: 200, headers: file.headers, text: file.bytes };
  }

  private loaded(): Map<string, StaticFile> {
    this.files ??= this.read();
    return this.files;
  }

  private read(): Map<string, StaticFile> {
    const files = new Map<string, StaticFile>();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return files; // a missing directory serves nothing; its callers say what is missing
    }
    for (const name of names) {
      const type = STATIC_CONTENT_TYPES[extname(name)];
      if (!type || !SAFE_NAME.test(name) || (this.options.only && !this.options.only(name))) continue;
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(this.dir, name));
      } catch {
        continue; // not a readable file (a directory, a dangling link): not served
      }
      const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
      // no-cache: kept, but revalidated on every use, so a new install shows at once.
      files.set(name, { bytes, headers: { 'content-type': type, etag, 'cache-control': 'no-cache', ...this.options.headers } });
    }
    return files;
  }
}

/** If-None-Match: a list of entity tags, compared weakly (a W/ prefix does not matter), or `*`. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}
