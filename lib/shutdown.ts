import type { Logger } from './log.js';
import { withTimeout } from './timeout.js';

/**
 * A service's stop, in steps that each get their share of the unit's stop budget (`budget`, ms per
 * step): a step that overruns is logged and left behind, so systemd never has to SIGKILL a stopping
 * service. Tests check that the shares add up to less than the unit's TimeoutStopSec.
 */
export function stopSteps<K extends string>(budget: Readonly<Record<K, number>>, log: Logger): (step: K, work: Promise<unknown> | undefined) => Promise<void> {
  return async (step, work) => {
    await withTimeout(work ?? Promise.resolve(), budget[step], `${step} to stop`).catch((error: unknown) =>
      log.warn({ err: (error as Error).message, step }, 'a part did not stop cleanly in time; going on without it'),
    );
  };
}
