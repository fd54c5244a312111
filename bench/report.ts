import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/** One measured figure, with its target where the issue names one. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
  /** true/false when a target exists; undefined when it is only informative. */
  pass?: boolean;
  note?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function printTable(results: BenchResult[]): string {
  const rows = results.map((r) => [r.name, `${round(r.value)} ${r.unit}`, r.target ?? '', r.pass === undefined ? '' : r.pass ? 'ok' : 'MISS']);
  const header = ['benchmark', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function round(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** Merges results into a JSON file keyed by benchmark name, so suites can run separately. */
export function writeResults(file: string, suite: string, results: BenchResult[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const prior: Record<string, unknown> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  prior[suite] = { at: new Date().toISOString(), results };
  writeFileSync(file, `${JSON.stringify(prior, null, 2)}\n`);
}
