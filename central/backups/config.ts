import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { duration } from '../../lib/duration.js';
import { argvSchema } from '../../lib/command.js';
import { pgUrlSchema } from '../../lib/postgres.js';

const cron = z.string().refine(
  (expression) => {
    try {
      CronExpressionParser.parse(expression);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid cron expression (e.g. "0 3 * * *" for 03:00 every day)' },
);

const retentionDays = (days: number) => z.number().positive().default(days);

/** A SQL integrity check: passes when the first column of the first row is truthy (and ≥ `min`). */
export const integrityCheckSchema = z.strictObject({
  name: z.string().min(1),
  query: z.string().min(1),
  min: z.number().optional(),
});

/** Central config key `backups`. Every kind is optional: an empty config backs up nothing. */
export const backupsConfigSchema = z.strictObject({
  dir: z.string().min(1).default('data/backups'),
  /** Where pg_dump / pg_restore live; default the newest /usr/lib/postgresql/<v>/bin, else PATH. */
  pgBinDir: z.string().optional(),
  postgres: z
    .strictObject({
      url: pgUrlSchema,
      /** Cron syntax in UTC; without it the kind runs only on demand. */
      schedule: cron.optional(),
      retentionDays: retentionDays(14),
      timeoutMs: z.number().int().positive().default(3_600_000),
      verify: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Where the scratch database is created (default: the dumped server's `postgres` database). */
          maintenanceUrl: pgUrlSchema.optional(),
          checks: z.array(integrityCheckSchema).default([]),
        })
        .prefault({}),
    })
    .optional(),
  config: z.strictObject({ paths: z.array(z.string().min(1)).min(1), schedule: cron.optional(), retentionDays: retentionDays(30) }).optional(),
  logs: z.strictObject({ paths: z.array(z.string().min(1)).min(1), schedule: cron.optional(), retentionDays: retentionDays(7) }).optional(),
  /** Copies each new backup offsite; `{file}` and `{checksumFile}` are replaced. */
  offsite: z
    .strictObject({
      argv: argvSchema,
      env: z.record(z.string(), z.string()).default({}),
      timeoutMs: z.number().int().positive().default(600_000),
    })
    .optional(),
  /** An incident opens when the newest verified postgres backup is older than this. */
  maxVerifiedAgeHours: z.number().positive().default(26),
  checkEvery: duration('60s'),
});

export type BackupsConfig = z.output<typeof backupsConfigSchema>;
export type IntegrityCheck = z.output<typeof integrityCheckSchema>;
export type BackupKind = 'postgres' | 'config' | 'logs';
export const BACKUP_KINDS: readonly BackupKind[] = ['postgres', 'config', 'logs'];
