import { z } from 'zod';

const Severity = z.enum(['critical', 'major', 'minor', 'info']);

/** One alert rule: on or off, how long the condition must hold first, how loud it is. */
function rule(afterMs: number, severity: z.infer<typeof Severity>) {
  return {
    enabled: z.boolean().default(true),
    afterMs: z.number().int().min(0).default(afterMs),
    severity: Severity.default(severity),
  };
}

/** Central config `alerts.*`: the fleet alert rules (each opens an incident keyed `point:<id>:<rule>`). */
export const alertsConfigSchema = z.strictObject({
  /** How often time-based conditions (disconnected for 2 min, ...) are looked at again. */
  tickMs: z.number().int().min(100).max(60_000).default(1000),
  disconnected: z.strictObject(rule(120_000, 'major')).prefault({}),
  /** The point takes orders by hand (agent mode `offline`). */
  manualMode: z.strictObject(rule(300_000, 'major')).prefault({}),
  printer: z.strictObject({ ...rule(0, 'major'), degradedSeverity: Severity.default('minor') }).prefault({}),
  /** Down, or degraded (black or frozen picture). */
  camera: z.strictObject({ ...rule(0, 'minor'), degradedSeverity: Severity.default('minor') }).prefault({}),
  /** The box's temperature check: degraded (high) or down (critical); `afterMs` counts from the check's `since`. */
  temperature: z.strictObject({ ...rule(300_000, 'major'), degradedSeverity: Severity.default('minor') }).prefault({}),
  /** The box's disk check: down (smartctl FAILED, eMMC pre-EOL urgent) or degraded (wearing out). Key `point:<id>:disk-health`. */
  diskHealth: z.strictObject({ ...rule(0, 'major'), degradedSeverity: Severity.default('minor') }).prefault({}),
  /** CPU, memory and disk use of the box, from its system check's data; `afterMs` counts from that check's `since` (CPU spikes are normal). */
  resources: z
    .strictObject({
      ...rule(300_000, 'minor'),
      percent: z.number().min(1).max(100).default(80),
      /** The box reports its data disk full (its store failed a write: orders are refused): `disk` opens at once with this severity. */
      diskFullSeverity: Severity.default('critical'),
    })
    .prefault({}),
  /** `afterMs`: an unsynced order older than this alerts. */
  unsynced: z.strictObject(rule(900_000, 'major')).prefault({}),
  clockSkew: z.strictObject({ ...rule(0, 'minor'), maxMs: z.number().int().min(1000).default(120_000) }).prefault({}),
  /** ≥ minPoints of one group disconnecting within windowMs: one incident instead of one per point. */
  areaOutage: z
    .strictObject({
      enabled: z.boolean().default(true),
      minPoints: z.number().int().min(2).default(3),
      windowMs: z.number().int().min(0).default(300_000),
      severity: Severity.default('critical'),
    })
    .prefault({}),
});

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
