import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PageAssets } from '../../agent/page/assets.js';
import { HttpError } from '../../lib/http.js';
import { packageRoot } from '../../lib/paths.js';

const STATIC = join(packageRoot(), 'agent', 'page', 'static');
const read = (name: string) => readFileSync(join(STATIC, name), 'utf8');

interface I18n {
  LANGUAGES: string[];
  STRINGS: Record<string, Record<string, string>>;
}

describe('staff page strings', () => {
  it('exist in Russian, English and Georgian for every key, with the same placeholders', async () => {
    const { LANGUAGES, STRINGS } = (await import(pathToFileURL(join(STATIC, 'i18n.js')).href)) as I18n;
    expect(LANGUAGES).toEqual(['ru', 'en', 'ka']);
    const keys = Object.keys(STRINGS.en!).sort();
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const lang of LANGUAGES) {
      expect(Object.keys(STRINGS[lang]!).sort(), lang).toEqual(keys);
      for (const key of keys) expect(placeholders(STRINGS[lang]![key]!), `${lang} ${key}`).toEqual(placeholders(STRINGS.en![key]!));
    }
  });

  it('cover every key the page and the login use', async () => {
    const { STRINGS } = (await import(pathToFileURL(join(STATIC, 'i18n.js')).href)) as I18n;
    const used = new Set<string>();
    for (const html of ['index.html', 'login.html']) for (const m of read(html).matchAll(/data-i18n(?:-label)?="([^"]+)"/g)) used.add(m[1]!);
    for (const js of ['app.js', 'login.js']) for (const m of read(js).matchAll(/\bt\('([a-zA-Z.]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(40);
    expect([...used].filter((key) => !(key in STRINGS.en!))).toEqual([]);
  });

  it('load nothing from outside the box', () => {
    for (const name of ['index.html', 'login.html', 'app.css', 'app.js', 'login.js', 'i18n.js', 'fonts.css']) expect(read(name), name).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  });
});

describe('PageAssets', () => {
  it('serves the page with a strict Content-Security-Policy', () => {
    const reply = new PageAssets().reply('index.html');
    expect(reply.headers?.['content-security-policy']).toContain("script-src 'self'");
    expect(reply.headers?.['content-type']).toBe('text/html; charset=utf-8');
  });

  it('serves the login page in the box’s language, and the fonts the build made, as fonts', () => {
    const assets = new PageAssets();
    expect(String(assets.inLanguage('login.html', 'ka').text)).toContain('<html lang="ka">');
    expect(assets.reply('font-georgian-400.woff2').headers).toMatchObject({ 'content-type': 'font/woff2' });
    expect(assets.reply('index.html').headers?.['content-security-policy']).toContain("font-src 'self'");
    // The TrueType copies are for the receipt printer, not the page.
    expect(() => assets.reply('font-georgian-400.ttf')).toThrow(/no such file/);
  });

  it('keeps the agent up without its files, answering 503 with what is missing', () => {
    const assets = new PageAssets('/nonexistent/hotpot/static');
    expect(assets.problem).toMatch(/the staff page is incomplete: index\.html, .* missing/);
    const refusal = (() => {
      try {
        assets.reply('index.html');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(HttpError);
    expect((refusal as HttpError).status).toBe(503);
    expect(() => new PageAssets().reply('../../package.json')).toThrow(/no such file/);
  });
});
