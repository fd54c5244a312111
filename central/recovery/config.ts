import { z } from 'zod';
import { duration, optionalDuration } from '../../lib/duration.js';
import { argvSchema } from '../../lib/command.js';
import { pgUrlSchema } from '../../lib/postgres.js';
import { NoticeSeverity, NoticeTexts } from '../../sync/schemas.js';

const envSchema = z.record(z.string(), z.string()).default({});
const timeout = (ms: number) => z.number().int().positive().default(ms);
const stepId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'step ids are lowercase letters, digits, ".", "_" or "-" (1–64 chars)');

// ---- probes ------------------------------------------------------------------------------

export const httpProbeSchema = z.strictObject({
  type: z.literal('http'),
  name: z.string().optional(),
  url: z.url(),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
  /** The body must contain this text. */
  expectBody: z.string().optional(),
  /** The body must be JSON with a value at `path` (dot path, e.g. `data.height`), equal to `equals` when given. */
  expectJson: z
    .strictObject({ path: z.string().min(1), equals: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional() })
    .optional(),
  timeoutMs: timeout(5000),
});

export const postgresProbeSchema = z.strictObject({
  type: z.literal('postgres'),
  name: z.string().optional(),
  /** postgres://user@host:port/db — a password here is redacted from every log and audit line. */
  url: pgUrlSchema,
  /** Passes when the first column of the first row is truthy (and ≥ `min` when given). */
  query: z.string().min(1).default('SELECT 1'),
  min: z.number().optional(),
  timeoutMs: timeout(5000),
});

export const diskProbeSchema = z.strictObject({
  type: z.literal('disk'),
  name: z.string().optional(),
  path: z.string().min(1).default('/'),
  minFreePercent: z.number().min(0).max(100).default(10),
});

export const commandProbeSchema = z.strictObject({
  type: z.literal('command'),
  name: z.string().optional(),
  argv: argvSchema,
  env: envSchema,
  expectExit: z.number().int().default(0),
  timeoutMs: timeout(10_000),
});

/** The procedure's blockchain nodes (see `chain`) are up, agree and advance together. */
export const chainProbeSchema = z.strictObject({ type: z.literal('chain'), name: z.string().optional() });

export const probeSchema = z.discriminatedUnion('type', [
  httpProbeSchema,
  postgresProbeSchema,
  diskProbeSchema,
  commandProbeSchema,
  chainProbeSchema,
]);

// ---- steps -------------------------------------------------------------------------------

const waitFields = {
  /** Defaults to the procedure's health checks. */
  probes: z.array(probeSchema).min(1).optional(),
  timeoutMs: timeout(60_000),
  intervalMs: timeout(1000),
};

/** Fields every action has: guardrails around the thing that changes the world. */
const actionFields = {
  id: stepId,
  title: z.string().optional(),
  /** Restore, failover, rebuild: waits for an approval unless `auto` (here or on the procedure). */
  destructive: z.boolean().default(false),
  auto: z.boolean().optional(),
  onFailure: z.enum(['continue', 'next-stage']).default('next-stage'),
  /** Preconditions that must pass right before the action (else the step fails). Without them the
   * target's health is checked instead: healthy before anything was changed → nothing to do. */
  before: z.array(probeSchema).min(1).optional(),
  /** Postconditions polled until they pass. Without them the target's health is checked once and audited. */
  after: z.strictObject(waitFields).optional(),
};

export const commandStepSchema = z.strictObject({
  type: z.literal('command'),
  ...actionFields,
  argv: argvSchema,
  env: envSchema,
  expectExit: z.number().int().default(0),
  timeoutMs: timeout(30_000),
  /** Counts against the procedure's restart budget. */
  restart: z.boolean().default(false),
});

export const httpStepSchema = z.strictObject({
  type: z.literal('http'),
  ...actionFields,
  url: z.url(),
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.unknown().optional(),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).default([200, 201, 202, 204]),
  timeoutMs: timeout(10_000),
});

/**
 * Restores the newest good backup of `kind` (always destructive): pg_restore of the newest verified
 * dump into `url`, the config archive over its configured paths, chain state through
 * `backups.chain.restore`.
 */
export const restoreBackupStepSchema = z
  .strictObject({
    type: z.literal('restore-backup'),
    ...actionFields,
    kind: z.enum(['postgres', 'config', 'chain']).default('postgres'),
    /** The database to restore into (postgres only). */
    url: pgUrlSchema.optional(),
    timeoutMs: timeout(3_600_000),
    /** After a good restore, run the restore hooks (upstream re-forwards what was forwarded after the dump was taken). */
    reforward: z.boolean().default(true),
  })
  .superRefine((step, ctx) => {
    if (step.kind === 'postgres' && !step.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a postgres restore needs the url of the database to restore into' });
    if (step.kind !== 'postgres' && step.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${step.kind} restore takes no url (only kind "postgres" restores into a database)` });
  });

/** Restarts the chain nodes found faulty, in the configured order, each through its own argv. */
export const chainRestartStepSchema = z.strictObject({
  type: z.literal('chain-restart'),
  ...actionFields,
  /** How long each restarted node may take to answer its status endpoint again. */
  nodeTimeoutMs: timeout(60_000),
});

/**
 * Finds the last block every live node agrees on and, once approved, runs `argv` for each node
 * with `{node}`, `{url}`, `{height}` and `{hash}` replaced (always destructive).
 */
export const chainRestoreStepSchema = z.strictObject({
  type: z.literal('chain-restore'),
  ...actionFields,
  argv: argvSchema,
  env: envSchema,
  timeoutMs: timeout(600_000),
});

export const probeStepSchema = z.strictObject({
  type: z.literal('probe'),
  id: stepId,
  title: z.string().optional(),
  probes: z.array(probeSchema).min(1),
  /** Diagnostics: a failing probe is recorded and the procedure goes on. */
  onFailure: z.enum(['continue', 'next-stage']).default('continue'),
});

export const waitStepSchema = z.strictObject({
  type: z.literal('wait'),
  id: stepId,
  title: z.string().optional(),
  ...waitFields,
  onFailure: z.enum(['continue', 'next-stage']).default('next-stage'),
});

/** A checklist item a person does and confirms (through the same approve call). */
export const manualStepSchema = z.strictObject({
  type: z.literal('manual'),
  id: stepId,
  title: z.string().optional(),
  text: z.string().min(1),
});

/**
 * Tells ops in these words: the target's incident takes this severity, and the text goes out on the
 * first channel of that severity's ladder. The step waits (up to `timeoutMs`) until a channel
 * accepts it, and its audit line names the channel, or says why none did.
 */
export const notifyStepSchema = z.strictObject({
  type: z.literal('notify'),
  id: stepId,
  title: z.string().optional(),
  severity: z.enum(['critical', 'major', 'minor', 'info']).default('critical'),
  text: z.string().min(1).max(1000),
  timeoutMs: timeout(60_000),
  /** Telling ops failed: the procedure goes on by default (the failover matters more than the message). */
  onFailure: z.enum(['continue', 'next-stage']).default('continue'),
});

/**
 * Posts a notice for the staff at every point (and the public status page), in ru, en and ka; it is
 * cleared when the target is verified up again (or a run started by hand resolves).
 */
export const noticeStepSchema = z.strictObject({
  type: z.literal('notice'),
  id: stepId,
  title: z.string().optional(),
  severity: NoticeSeverity.default('warning'),
  text: NoticeTexts,
  onFailure: z.enum(['continue', 'next-stage']).default('continue'),
});

export const stepSchema = z.discriminatedUnion('type', [
  probeStepSchema,
  commandStepSchema,
  httpStepSchema,
  waitStepSchema,
  manualStepSchema,
  notifyStepSchema,
  noticeStepSchema,
  restoreBackupStepSchema,
  chainRestartStepSchema,
  chainRestoreStepSchema,
]);

export const stageSchema = z.strictObject({
  name: z.string().min(1),
  /** Relative to detection: the stage starts no earlier than `from`; past `to` it escalates. */
  window: z.strictObject({ from: duration('0s'), to: optionalDuration() }).prefault({}),
  /** Ask once, before the stage's first step, for the whole stage (e.g. stop app → restore → start app);
   * what its restores will use is looked up first and shown in the request. */
  approval: z.boolean().default(false),
  /** Runs the stage again (while the restart budget allows) when it ends with the target still down. */
  attempts: z.number().int().min(1).max(20).default(1),
  steps: z.array(stepSchema).min(1),
});

export const chainNodeSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/),
  /** Base URL, e.g. http://10.0.0.5:3001 */
  url: z.url(),
  restart: z.strictObject({ argv: argvSchema, env: envSchema, timeoutMs: timeout(30_000) }).optional(),
});

export const chainConfigSchema = z.strictObject({
  nodes: z.array(chainNodeSchema).min(1).max(12),
  statusPath: z.string().default('/api/status'),
  chainStatusPath: z.string().default('/api/blockchain/status'),
  /** Dot paths into the chain status JSON. */
  heightPath: z.string().default('height'),
  hashPath: z.string().default('hash'),
  /** `:height` is replaced; the response's `blockHashPath` is the block's hash. */
  blockPath: z.string().default('/api/blockchain/block/:height'),
  blockHashPath: z.string().default('hash'),
  /** A node whose height has not moved for this many probes (at the probe interval) is stalled. */
  stallProbes: z.number().int().min(2).default(3),
  /** A node more than this many blocks behind the highest is lagging. */
  maxLag: z.number().int().min(0).default(2),
  /** Node names in the order they are restarted (default: as listed). Also the trust order on a tie. */
  restartOrder: z.array(z.string()).optional(),
  timeoutMs: timeout(5000),
});

export const procedureSchema = z
  .strictObject({
    /** Lock and incident key; procedures sharing a target never run at once. Default: the procedure's name. */
    target: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/).optional(),
    description: z.string().optional(),
    /** Every destructive step runs without approval. */
    auto: z.boolean().default(false),
    probe: z.strictObject({
      every: duration('30s'),
      /** Consecutive failed probes before a run starts. */
      failAfter: z.number().int().min(1).default(1),
      checks: z.array(probeSchema).min(1),
      /** Before it is down: p95 of the probes over `degradedWindow` above this opens `runbook:<target>:degraded` (absent: speed not judged). */
      slowMs: z.number().int().positive().optional(),
      /** … and so does this share of them failing. */
      errorRate: z.number().gt(0).max(1).default(0.2),
      degradedWindow: duration('15m'),
      /** Fewer probes than this in the window: no verdict. */
      degradedMinSamples: z.number().int().min(1).default(5),
    }),
    budget: z.strictObject({ restarts: z.number().int().min(0).default(3), window: duration('15m') }).prefault({}),
    incident: z
      .strictObject({ title: z.string().optional(), severity: z.enum(['critical', 'major', 'minor', 'info']).default('critical') })
      .prefault({}),
    chain: chainConfigSchema.optional(),
    stages: z.array(stageSchema).min(1),
  })
  .superRefine((procedure, ctx) => {
    const seen = new Set<string>();
    procedure.stages.forEach((stage, stageIndex) =>
      stage.steps.forEach((step, stepIndex) => {
        const path = ['stages', stageIndex, 'steps', stepIndex, 'id'];
        if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path, message: `step id "${step.id}" is used twice in this procedure` });
        seen.add(step.id);
      }),
    );
    const usesChain =
      procedure.probe.checks.some((p) => p.type === 'chain') ||
      procedure.stages.some((s) => s.steps.some((step) => step.type.startsWith('chain-') || ('probes' in step && step.probes?.some((p) => p.type === 'chain'))));
    if (usesChain && !procedure.chain) {
      ctx.addIssue({ code: 'custom', path: ['chain'], message: 'chain probes and steps need the procedure\'s "chain" settings (nodes, paths)' });
    }
    const names = new Set(procedure.chain?.nodes.map((n) => n.name));
    procedure.chain?.restartOrder?.forEach((name, i) => {
      if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['chain', 'restartOrder', i], message: `no chain node is named "${name}"` });
    });
  });

export const hostWatchSchema = z.strictObject({
  enabled: z.boolean().default(true),
  every: duration('60s'),
  cpuPercent: z.number().min(1).max(100).default(80),
  memoryPercent: z.number().min(1).max(100).default(80),
  diskPercent: z.number().min(1).max(100).default(80),
  /** Consecutive samples over a limit before an incident (CPU spikes are normal). */
  sustainedSamples: z.number().int().min(1).default(3),
  /** The host's CPU temperature (°C) above which it alerts; a host without a sensor never does. */
  temperatureC: z.number().min(20).max(150).default(80),
  /** eMMC/SD life used (%) at or above which the host's card is wearing out; smartctl FAILED always alerts. */
  wearPercent: z.number().min(1).max(100).default(80),
  /** The kernel's sysfs (thermal zones, block devices); a directory of files in tests. */
  sysfsRoot: z.string().min(1).default('/sys'),
  /** smartctl (smartmontools) on PATH or a path; absent → disk health is not watched, never an alert. */
  smartctl: z.string().min(1).default('smartctl'),
});

/** Central config key `recovery`. Empty means nothing configured, nothing runs (the host watch aside). */
export const recoveryConfigSchema = z.strictObject({
  procedures: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'procedure names are lowercase letters, digits, ".", "_" or "-"'), procedureSchema).default({}),
  /** Values redacted from every command output and audit line (passwords, tokens). */
  secrets: z.array(z.string().min(4)).default([]),
  outputTailBytes: z.number().int().min(256).max(65_536).default(4000),
  /** Different people who must approve a destructive step: 1, or 2 (whoever started the run by hand is not one of them). */
  approvals: z.union([z.literal(1), z.literal(2)]).default(1),
  host: hostWatchSchema.prefault({}),
});

export type RecoveryConfig = z.output<typeof recoveryConfigSchema>;
export type Procedure = z.output<typeof procedureSchema>;
export type Stage = z.output<typeof stageSchema>;
export type Step = z.output<typeof stepSchema>;
export type ActionStep = Extract<Step, { type: 'command' | 'http' | 'restore-backup' | 'chain-restart' | 'chain-restore' }>;
/** Steps that tell people: ops (`notify`), the staff and the public (`notice`). */
export type AnnounceStep = Extract<Step, { type: 'notify' | 'notice' }>;
export type ProbeSpec = z.output<typeof probeSchema>;
export type ChainConfig = z.output<typeof chainConfigSchema>;
export type HostWatchConfig = z.output<typeof hostWatchSchema>;

const ACTION_TYPES = new Set<Step['type']>(['command', 'http', 'restore-backup', 'chain-restart', 'chain-restore']);

export function isAction(step: Step): step is ActionStep {
  return ACTION_TYPES.has(step.type);
}

/** Restores and chain rebuilds are destructive whatever the config says. */
export function isDestructive(step: ActionStep): boolean {
  return step.destructive || step.type === 'restore-backup' || step.type === 'chain-restore';
}

export function needsApproval(procedure: Procedure, step: ActionStep): boolean {
  return isDestructive(step) && !(step.auto ?? procedure.auto);
}
