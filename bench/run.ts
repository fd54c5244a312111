import { printTable, writeResults, type BenchResult } from './report.js';

/** Each suite is loaded and run in turn; `npm run bench -- NAME` runs just one. */
const SUITES: Record<string, () => Promise<{ run: () => Promise<BenchResult[]> }>> = {
  backbone: () => import('./backbone.js'),
  recovery: () => import('./recovery.js'),
  checks: () => import('./checks.js'),
  forward: () => import('./forward.js'),
  failover: () => import('./failover.js'),
  fleet: () => import('./fleet.js'),
  sizing: () => import('./sizing.js'),
  access: () => import('./access.js'),
  status: () => import('./status.js'),
};

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = only.length ? only : Object.keys(SUITES);
  for (const name of names) {
    const load = SUITES[name];
    if (!load) throw new Error(`unknown bench suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
    process.stderr.write(`bench: running ${name}...\n`);
    const results = await (await load()).run();
    process.stdout.write(`\n${name}\n${printTable(results)}\n`);
    writeResults('bench/results.json', name, results);
  }
  process.stdout.write('\nwrote bench/results.json\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
