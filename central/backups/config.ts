import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { duration } from '../../lib/duration.js';
import { argvSchema } from '../../lib/command.js';
import { pgUrlSchema } from '../../lib/postgres.js';
import { TIERS } from './plan.js';

const cron = z.string().refine(
  (expression) => {
    try {
      CronExpressionParser.parse(expression);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid cron expression (e.g. "0 2 * * *" for 02:00 every day, in central\'s timeZone)' },
);

const retentionDays = (days: number) => z.number().positive().default(days);
const env = z.record(z.string(), z.string()).default({});

/** A SQL integrity check: passes when the first column of the first row is truthy (and ≥ `min`). */
export const integrityCheckSchema = z.strictObject({
  name: z.string().min(1),
  query: z.string().min(1),
  min: z.number().optional(),
});

/** One schedule tier: its cron (in central's `timeZone`) and how long its copies are kept at least. */
const tierSchema = (days: number) => z.strictObject({ cron, retentionDays: retentionDays(days) });

/**
 * The runbook's tiers: daily, weekly (full) and monthly (archive). A copy is kept for the longer of
 * its target's retention and its tier's: monthly copies (12 months) outlive the daily pruning.
 */
const schedulesSchema = z
  .strictObject({
    daily: tierSchema(7).optional(),
    weekly: tierSchema(28).optional(),
    monthly: tierSchema(365).optional(),
  })
  .prefault({});

/** The local directory every backup is written to first (default `<backups.dir>/<kind>`). */
export const localTargetSchema = z.strictObject({
  type: z.literal('local'),
  dir: z.string().min(1).optional(),
  retentionDays: retentionDays(7),
});

/**
 * An off-site target reached through commands (rclone, the AWS CLI, gsutil, sftp…), each an argv
 * with `{file}` (the local file; for `fetch`, where to put it), `{name}` (its file name),
 * `{checksumFile}` and `{remote}` (this target's `remote`) replaced.
 */
export const commandTargetSchema = z.strictObject({
  type: z.literal('command'),
  name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'lowercase letters, digits and dashes, e.g. "s3" or "sftp"'),
  /** Where copies go, as the commands spell it (e.g. `s3://bucket/hotpot/postgres`); `{remote}` in the argvs. */
  remote: z.string().min(1),
  /** Copies one backup there, e.g. `["aws","s3","cp","{file}","{remote}/{name}"]`. */
  copy: argvSchema,
  /** Lists what is there, one file a line; a line may also give the size and the sha256 (checked after each copy). */
  list: argvSchema,
  /** Deletes one file there, e.g. `["aws","s3","rm","{remote}/{name}"]`. */
  delete: argvSchema,
  /** Copies one file back (the restore drill), e.g. `["aws","s3","cp","{remote}/{name}","{file}"]`. */
  fetch: argvSchema.optional(),
  env,
  timeoutMs: z.number().int().positive().default(600_000),
  retentionDays: retentionDays(30),
  /** Which tiers' backups go there (e.g. only `monthly` for an archive). */
  tiers: z.array(z.enum(TIERS)).min(1).default([...TIERS]),
});

const targetsSchema = z
  .array(z.discriminatedUnion('type', [localTargetSchema, commandTargetSchema]))
  .default([{ type: 'local', retentionDays: 7 }])
  .superRefine((targets, ctx) => {
    if (targets.filter((t) => t.type === 'local').length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'exactly one { "type": "local" } target: every backup is written there first' });
    }
    const names = targets.flatMap((t) => (t.type === 'command' ? [t.name] : []));
    const twice = names.find((name, i) => names.indexOf(name) !== i || name === 'local');
    if (twice) ctx.addIssue({ code: 'custom', message: `target name "${twice}" is used twice (or is "local")` });
  });

/** The monthly restore drill: an off-site copy fetched into a scratch directory and checked. */
const drillSchema = z.strictObject({
  cron: cron.default('0 5 1 * *'),
  /** The command target to fetch from (default the first one with a `fetch` command). */
  target: z.string().min(1).optional(),
});

/** What every kind has: its schedules, its targets, its drill. */
const tieredFields = {
  schedules: schedulesSchema,
  targets: targetsSchema,
  drill: drillSchema.optional(),
};

const drillNeedsFetch = (kind: { targets: Array<z.output<typeof localTargetSchema> | z.output<typeof commandTargetSchema>>; drill?: { target?: string | undefined } | undefined }, ctx: z.RefinementCtx) => {
  if (!kind.drill) return;
  const wanted = kind.drill.target;
  const target = kind.targets.find((t) => t.type === 'command' && (wanted ? t.name === wanted : t.fetch));
  if (!target || target.type !== 'command' || !target.fetch) {
    ctx.addIssue({ code: 'custom', path: ['drill', 'target'], message: wanted ? `no command target "${wanted}" with a fetch command` : 'the drill needs a command target with a fetch command' });
  }
};

const pathsKind = z.strictObject({ paths: z.array(z.string().min(1)).min(1), ...tieredFields }).superRefine(drillNeedsFetch);

/** Central config key `backups`. Every kind is optional: an empty config backs up nothing. */
export const backupsConfigSchema = z.strictObject({
  /** Where each kind's local target is by default (`<dir>/<kind>`), and the drills' scratch space. */
  dir: z.string().min(1).default('data/backups'),
  /** Where pg_dump / pg_restore live; default the newest /usr/lib/postgresql/<v>/bin, else PATH. */
  pgBinDir: z.string().optional(),
  postgres: z
    .strictObject({
      url: pgUrlSchema,
      timeoutMs: z.number().int().positive().default(3_600_000),
      verify: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Where the scratch database is created (default: the dumped server's `postgres` database). */
          maintenanceUrl: pgUrlSchema.optional(),
          checks: z.array(integrityCheckSchema).default([]),
        })
        .prefault({}),
      ...tieredFields,
    })
    .superRefine(drillNeedsFetch)
    .optional(),
  config: pathsKind.optional(),
  logs: pathsKind.optional(),
  /** Chain state, saved and restored by the chain's own commands (`{file}`: the archive). */
  chain: z
    .strictObject({
      backup: argvSchema,
      restore: argvSchema,
      /** Checks an archive (the drill); without it the drill checks the sha256 only. */
      check: argvSchema.optional(),
      env,
      timeoutMs: z.number().int().positive().default(3_600_000),
      ...tieredFields,
    })
    .superRefine(drillNeedsFetch)
    .optional(),
  /** Sends "backup completed" (an info incident, through notify's ladder) after each good backup. */
  notifyCompleted: z.boolean().default(false),
  /** An incident opens when the newest verified postgres backup is older than this. */
  maxVerifiedAgeHours: z.number().positive().default(26),
  checkEvery: duration('60s'),
});

export type BackupsConfig = z.output<typeof backupsConfigSchema>;
export type IntegrityCheck = z.output<typeof integrityCheckSchema>;
export type CommandTarget = z.output<typeof commandTargetSchema>;
export type LocalTarget = z.output<typeof localTargetSchema>;
export type KindConfig = NonNullable<BackupsConfig[BackupKind]>;
export type BackupKind = 'postgres' | 'config' | 'logs' | 'chain';
export const BACKUP_KINDS: readonly BackupKind[] = ['postgres', 'config', 'logs', 'chain'];

/** Keys of the single-tier shape, and where they went (central/config.ts MOVED_KEYS). */
export const MOVED_BACKUP_KEYS: Record<string, string> = {
  'backups.offsite': 'backups.<kind>.targets (a { "type": "command" } target with copy, list and delete)',
  ...Object.fromEntries(
    (['postgres', 'config', 'logs'] as const).flatMap((kind) => [
      [`backups.${kind}.schedule`, `backups.${kind}.schedules.daily.cron`],
      [`backups.${kind}.retentionDays`, `backups.${kind}.targets (the { "type": "local" } target's retentionDays)`],
    ]),
  ),
};
