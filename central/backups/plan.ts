/**
 * Pure backup decisions over data, clocks injected: which tier runs when (cron in central's time
 * zone), which copies are past their retention where, and whether a listing shows a good copy.
 */
import { CronExpressionParser } from 'cron-parser';

export type Tier = 'daily' | 'weekly' | 'monthly';
/** Lowest first: when several tiers are due together, one backup of the highest runs. */
export const TIERS = ['daily', 'weekly', 'monthly'] as const satisfies readonly Tier[];

const DAY_MS = 86_400_000;

/** The first time `cron` fires after `after`, read in `timeZone` ("0 2 * * *" is 02:00 there). */
export function nextCronAt(cron: string, after: number, timeZone: string): number {
  return CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: timeZone }).next().getTime();
}

/** When each configured tier next runs after `after`. */
export function nextTierTimes(schedules: Partial<Record<Tier, { cron: string }>>, after: number, timeZone: string): Partial<Record<Tier, number>> {
  const next: Partial<Record<Tier, number>> = {};
  for (const tier of TIERS) {
    const schedule = schedules[tier];
    if (schedule) next[tier] = nextCronAt(schedule.cron, after, timeZone);
  }
  return next;
}

/** The tier a backup due at `now` belongs to: the highest of those due (null: none due). */
export function dueTier(next: Partial<Record<Tier, number>>, now: number): Tier | null {
  let due: Tier | null = null;
  for (const tier of TIERS) if ((next[tier] ?? Infinity) <= now) due = tier;
  return due;
}

/** A copy is kept for the longer of its target's retention and its tier's. */
export function retentionMs(targetDays: number, tierDays: number | undefined): number {
  return Math.max(targetDays, tierDays ?? 0) * DAY_MS;
}

export interface HeldCopy {
  backupId: string;
  tier: Tier;
  /** When the backup was taken. */
  takenAt: number;
}

/**
 * The copies a target may delete at `now`: past the longer of the target's and their tier's
 * retention, never `keepId` (the kind's newest good backup).
 */
export function expiredCopies<C extends HeldCopy>(copies: readonly C[], targetDays: number, tierDays: Partial<Record<Tier, number>>, now: number, keepId: string | null): C[] {
  return copies.filter((copy) => copy.backupId !== keepId && now - copy.takenAt > retentionMs(targetDays, tierDays[copy.tier]));
}

/** What one line of a target's listing says about a file. */
export interface ListedFile {
  name: string;
  /** Every whole number on the line (one of them is the size, when the listing gives it). */
  numbers: number[];
  sha256: string | null;
}

/**
 * Reads a listing (`ls -l`, `aws s3 ls`, `gsutil ls -l`, `rclone lsf --format psh`…): a line
 * names a file when one of its fields, after its last `/`, is a file name this kind writes.
 */
export function parseListing(output: string, isOurs: (name: string) => boolean): ListedFile[] {
  const files: ListedFile[] = [];
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/[\s;,]+/).filter(Boolean);
    const name = fields.map((field) => field.slice(field.lastIndexOf('/') + 1)).find(isOurs);
    if (!name) continue;
    files.push({
      name,
      numbers: fields.filter((f) => /^\d+$/.test(f)).map(Number),
      sha256: fields.find((f) => /^[0-9a-f]{64}$/i.test(f))?.toLowerCase() ?? null,
    });
  }
  return files;
}

/** Why a listed copy is not the file that was sent (null: it is, as far as the listing tells). */
export function copyProblem(listed: ListedFile | undefined, expected: { name: string; size: number; sha256: string }): string | null {
  if (!listed) return `${expected.name} is not in the target's listing after the copy`;
  if (listed.sha256 && listed.sha256 !== expected.sha256) return `${expected.name} is listed with sha256 ${listed.sha256}, not ${expected.sha256}`;
  if (listed.numbers.length && !listed.numbers.includes(expected.size)) return `${expected.name} is listed without its size ${expected.size} (fields ${listed.numbers.join(', ')})`;
  return null;
}
