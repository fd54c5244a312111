import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BOUNDARIES, type Figures } from './boundaries.js';

/**
 * `npm run fuzz [-- --seed N --runs N --only agent-http,mqtt]`: every boundary's property campaign
 * at ≥ 10,000 cases. The seed is printed first; the same seed and runs replay the same cases.
 */
const { values } = parseArgs({ options: { seed: { type: 'string' }, runs: { type: 'string', default: '10000' }, only: { type: 'string' } } });
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const runs = Number(values.runs);
if (!Number.isInteger(seed) || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: npm run fuzz -- [--seed INTEGER] [--runs N] [--only agent-http,central-http,mqtt,config,camera]\n');
  process.exit(2);
}
const names = values.only ? values.only.split(',') : Object.keys(BOUNDARIES);
process.stdout.write(`fuzz seed ${seed}, ${runs} cases per boundary (replay: npm run fuzz -- --seed ${seed} --runs ${runs})\n`);
const dir = mkdtempSync(join(tmpdir(), 'hotpot-fuzz-'));
const results: Figures[] = [];
let failed = false;
for (const name of names) {
  const boundary = BOUNDARIES[name];
  if (!boundary) {
    process.stderr.write(`unknown boundary ${name}: ${Object.keys(BOUNDARIES).join(', ')}\n`);
    process.exit(2);
  }
  try {
    const figures = await boundary({ runs, seed, dir: join(dir, name) });
    results.push(figures);
    process.stdout.write(`${figures.boundary.padEnd(22)} ${String(figures.cases).padStart(6)} cases  5xx ${figures.status5xx}  crashes ${figures.crashes}  hangs ${figures.hangs}  wrong acks ${figures.wrongAcks}  ${(figures.ms / 1000).toFixed(1)} s\n`);
  } catch (error) {
    failed = true;
    const cause = (error as Error).cause;
    process.stdout.write(`${name}: PROPERTY FAILED (seed ${seed})\n${(error as Error).message}\n${cause ? `cause: ${(cause as Error).stack ?? String(cause)}\n` : ''}`);
  }
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(failed ? 'fuzz: failures above\n' : `fuzz: ${results.reduce((n, f) => n + f.cases, 0)} cases, all properties held\n`);
process.exit(failed ? 1 : 0);
