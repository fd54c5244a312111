import type { RecoveryEngine } from '../../central/recovery/engine.js';
import { waitFor } from '../peers/net.js';

/** Waits until `procedure`'s summary satisfies `condition`; on timeout the error carries the audited runs. */
export async function waitForProcedure(
  engine: RecoveryEngine,
  procedure: string,
  condition: (summary: ReturnType<RecoveryEngine['procedures']>[number]) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  try {
    await waitFor(() => condition(engine.procedures().find((p) => p.name === procedure)!), what, timeoutMs, 100);
  } catch (error) {
    const runs = engine.runs({ procedure, limit: 3 }).map((run) => ({
      status: run.status,
      reason: run.reason,
      steps: run.steps.map((s) => `${s.phase} ${s.stepId ?? ''} ok=${s.ok} ${s.detail ?? s.what}`),
    }));
    throw new Error(`${(error as Error).message}\nrecent runs:\n${JSON.stringify(runs, null, 1)}`);
  }
}
