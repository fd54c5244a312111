import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where package.json is), from the sources or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the hotpot package root (package.json)');
}

/** The sample menu shipped with the package (install/menu.sample.json). */
export function sampleMenuFile(): string {
  return join(packageRoot(), 'install', 'menu.sample.json');
}
