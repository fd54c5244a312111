/**
 * The SMART report: `smartctl -H` needs root, the agent runs sandboxed as `hotpot`. So a root
 * oneshot (`hotpot smart-report`, run by hotpot-smart.timer) writes each whole disk's verdict to a
 * file, and the agent's disk check reads it. This module is the file's contract: its schema, the
 * atomic writer, the reader, and the pure judgement of a report's age.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { formatDuration } from '../lib/duration.js';

/** Where hotpot-smart.service writes (its StateDirectory, root's, world-readable) and the agent reads. */
export const SMART_REPORT_PATH = '/var/lib/hotpot-smart/smart.json';
/** hotpot-smart.timer's period (install/systemd/hotpot-smart.timer, OnUnitActiveSec=6h). */
export const SMART_REPORT_INTERVAL_MS = 6 * 3_600_000;
/** Older than this, a report is stale: two runs missed, plus an hour for a slow boot or a slow disk. */
export const SMART_REPORT_MAX_AGE_MS = 2 * SMART_REPORT_INTERVAL_MS + 3_600_000;

/** One disk's `smartctl -H` verdict. */
export const smartDiskSchema = z.strictObject({
  device: z.string().regex(/^\/dev\/[A-Za-z0-9_-]+$/, 'must be a device path such as /dev/sda'),
  verdict: z.enum(['passed', 'failed', 'unknown']),
  detail: z.string().max(2000),
});

export const smartReportSchema = z.strictObject({
  /** When the report was made. */
  at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-01T06:00:00.000Z' }),
  disks: z.array(smartDiskSchema).max(64),
});

export type SmartDisk = z.infer<typeof smartDiskSchema>;
export type SmartReport = z.infer<typeof smartReportSchema>;

/**
 * Writes the report in one rename (a reader sees the old file or the new, never half of one),
 * world-readable: it names disks and verdicts, nothing secret. Checked against the schema first.
 */
export async function writeSmartReport(file: string, report: SmartReport): Promise<void> {
  const text = `${JSON.stringify(smartReportSchema.parse(report), null, 2)}\n`;
  const staged = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const handle = await open(staged, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    await handle.chmod(0o644);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(staged, file).catch(async (error: unknown) => {
    await rm(staged, { force: true });
    throw error;
  });
}

/** The report in `file`; null when there is none yet. A file that is not a report throws, naming the field. */
export async function readSmartReport(file: string): Promise<SmartReport | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the SMART report ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`the SMART report ${file} is not JSON (${(error as Error).message}): run systemctl start hotpot-smart.service to rewrite it`);
  }
  const parsed = smartReportSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new Error(`the SMART report ${file} is not valid (${issues}): run systemctl start hotpot-smart.service to rewrite it`);
  }
  return parsed.data;
}

/** The disks' verdicts from a report, or why there are none (`missing`). */
export type SmartFromReport = { smart: SmartDisk[] } | { smart: null; missing: string };

/**
 * Pure: what a report (or its absence, or the error reading it) tells at `nowMs`. A report older
 * than `maxAgeMs` tells nothing: an old PASSED is no news of the disk today.
 */
export function smartFromReport(read: SmartReport | null | Error, file: string, nowMs: number, maxAgeMs: number): SmartFromReport {
  const howToCheck = 'systemctl status hotpot-smart.timer hotpot-smart.service; journalctl -u hotpot-smart';
  if (read === null) return { smart: null, missing: `no SMART report yet (${file}, written by hotpot-smart.timer every ${formatDuration(SMART_REPORT_INTERVAL_MS)}: ${howToCheck})` };
  if (read instanceof Error) return { smart: null, missing: read.message };
  const ageMs = nowMs - Date.parse(read.at);
  if (ageMs > maxAgeMs) {
    return { smart: null, missing: `the SMART report ${file} is stale (made ${read.at}, over ${formatDuration(maxAgeMs)} ago): check hotpot-smart.timer with ${howToCheck}` };
  }
  return { smart: read.disks };
}
