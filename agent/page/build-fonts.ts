// Build step (`npm run build`): cuts the page's fonts from their npm packages into agent/page/static.
// Run from a checkout with dev dependencies; a production install ships the files it made.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FONT_PARTS, FONT_WEIGHTS, fontDir, fontFaceCss, fontFileName, partText } from './fonts.js';

const require = createRequire(import.meta.url);

async function main(): Promise<void> {
  const { default: subsetFont } = await import('subset-font');
  const out = fontDir();
  let bytes = 0;
  for (const part of FONT_PARTS) {
    const text = partText(part);
    for (const weight of FONT_WEIGHTS) {
      const source = readFileSync(require.resolve(`${part.pkg}/files/${part.stem}-${weight}-normal.woff2`));
      for (const format of ['woff2', 'ttf'] as const) {
        const subset = await subsetFont(source, text, { targetFormat: format === 'ttf' ? 'truetype' : 'woff2' });
        writeFileSync(join(out, fontFileName(part, weight, format)), subset);
        bytes += format === 'woff2' ? subset.length : 0;
      }
    }
  }
  writeFileSync(join(out, 'fonts.css'), fontFaceCss());
  process.stdout.write(`page fonts: ${FONT_PARTS.length * FONT_WEIGHTS.length} faces, ${Math.round(bytes / 1024)} KiB of woff2 in ${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`building the page fonts failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
