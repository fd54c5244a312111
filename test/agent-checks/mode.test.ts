import { afterEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../lib/log.js';
import { agentConfigSchema } from '../../agent/config.js';
import { DeviceHealth, buildChecks, loadDevices, type Check, type CheckResult, type OverrideStore } from '../../agent/checks/index.js';
import type { Mode } from '../../sync/schemas.js';
import { TcpTarget } from '../peers/tcp-target.js';
import { waitFor } from '../peers/net.js';
import { sleep } from '../../lib/timeout.js';

/** The agent's real internet check over `targets`, with central absent (its link down). */
async function internetHealth(targets: string[], internet: Record<string, number> = {}, overrides?: OverrideStore): Promise<DeviceHealth> {
  const config = agentConfigSchema.parse({ pointId: 'mode-test', dataDir: '/tmp', checks: { internet: { targets, ...internet } } });
  const checks = buildChecks(config, await loadDevices(config), () => false)
    .filter((c) => c.check.name === 'internet')
    .map((c) => ({ ...c, check: countingResults(c.check) }));
  return new DeviceHealth({ checks, log: silentLogger(), ...(overrides ? { overrides } : {}) });
}

/** Every result the real internet check returned, in order, so a test can count probe rounds. */
const internetResults: CheckResult[] = [];
function countingResults(check: Check): Check {
  return {
    name: check.name,
    run: async () => {
      const result = await check.run();
      internetResults.push(result);
      return result;
    },
  };
}

/** Every mode the provider reports, in order, with when it changed. */
function modeLog(health: DeviceHealth): { mode: Mode; at: number }[] {
  const log = [{ mode: health.snapshot().mode, at: performance.now() }];
  health.on('change', () => {
    const mode = health.snapshot().mode;
    if (mode !== log.at(-1)!.mode) log.push({ mode, at: performance.now() });
  });
  return log;
}

describe('mode machine on real internet targets', () => {
  const targets = [new TcpTarget(), new TcpTarget()];
  let health: DeviceHealth | undefined;

  afterEach(async () => {
    await health?.stop();
    await Promise.all(targets.map((t) => t.close()));
  });

  // The "< 3 s" figure is measured by `npm run bench checks` (cut → offline p50/p99): a wall-clock
  // bound here would fail on a loaded CI machine without the code being wrong.
  it('goes offline on the default failAfter-th failed probe after a cut, and back online when the link returns', async () => {
    await Promise.all(targets.map((t) => t.open()));
    health = await internetHealth(targets.map((t) => t.url));
    const modes = modeLog(health);
    health.start();
    await waitFor(() => health!.snapshot().checks.internet.detail.startsWith('only central unreachable'), 'the first internet results');
    expect(health.snapshot().mode).toBe('online');

    await Promise.all(targets.map((t) => t.close()));
    const resultsAtCut = internetResults.length;
    let failedWhenFlipped = -1;
    health.on('change', () => {
      if (failedWhenFlipped < 0 && health!.snapshot().mode === 'offline') failedWhenFlipped = internetResults.slice(resultsAtCut).filter((r) => r.status === 'down').length;
    });
    await waitFor(() => health!.snapshot().mode === 'offline', 'manual-order mode after the cut', 10_000);
    // The default failAfter is 2: the second failed probe round after the cut, not one sooner or later.
    expect(failedWhenFlipped).toBe(2);
    expect(health.snapshot().checks.internet).toMatchObject({ status: 'down', detail: expect.stringMatching(/^internet unreachable: all 2 targets fail/) });

    await Promise.all(targets.map((t) => t.open()));
    await waitFor(() => health!.snapshot().mode === 'online', 'online mode after the link returns', 10_000);
    expect(modes.map((m) => m.mode)).toEqual(['online', 'offline', 'online']);
  });

  it('does not flap the mode while the link flaps every 500 ms', async () => {
    const [target] = targets;
    await target!.open();
    // Sampling faster than the flapping, so the check really sees it come and go.
    health = await internetHealth([target!.url], { intervalMs: 250, failAfter: 4, recoverAfter: 4 });
    const modes = modeLog(health);
    const statuses = new Set<string>();
    health.on('change', () => statuses.add(health!.snapshot().checks.internet.status));
    health.start();
    await waitFor(() => health!.snapshot().checks.internet.detail !== 'not checked yet', 'the first result');
    for (let i = 0; i < 10; i++) {
      await sleep(500);
      if (target!.isOpen) await target!.close();
      else await target!.open();
    }
    expect(modes.map((m) => m.mode)).toEqual(['online']);
    expect(statuses.has('down')).toBe(false);
  });

  it('is forced offline by staff, remembers it across a restart, and hands back to the checks', async () => {
    await targets[0]!.open();
    const meta = new Map<string, string>();
    const store: OverrideStore = { getMeta: (k) => meta.get(k) ?? null, setMeta: (k, v) => void meta.set(k, v) };
    health = await internetHealth([targets[0]!.url], {}, store);
    health.start();
    await waitFor(() => health!.snapshot().checks.internet.detail !== 'not checked yet', 'the first result');
    const changes: Mode[] = [];
    health.on('change', () => changes.push(health!.snapshot().mode));
    health.force('staff', 'offline');
    expect(health.snapshot().mode).toBe('offline');
    expect(changes).toEqual(['offline']);
    await health.stop();

    health = await internetHealth([targets[0]!.url], {}, store);
    expect(health.snapshot().mode).toBe('offline');
    health.force('staff', null);
    expect(health.snapshot().mode).toBe('online');
  });
});

describe('check schedule', () => {
  it('never overlaps a check with itself, even when a run outlasts its interval', async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const slow: Check = {
      name: 'camera',
      async run() {
        running++;
        overlapped ||= running > 1;
        runs++;
        await sleep(120);
        running--;
        return { status: 'up', detail: 'slow camera' };
      },
    };
    const health = new DeviceHealth({ checks: [{ check: slow, intervalMs: 100, timeoutMs: 20, hysteresis: { failAfter: 1, recoverAfter: 1 } }], log: silentLogger() });
    health.start();
    await waitFor(() => runs >= 4, 'four runs of the slow check');
    await health.stop();
    expect(overlapped).toBe(false);
  });

  it('calls a hung check down, naming it, without starting another run beside it', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const hung: Check = {
      name: 'printer',
      run() {
        runs++;
        return new Promise((resolve) => (release = () => resolve({ status: 'up', detail: 'finally' })));
      },
    };
    const health = new DeviceHealth({ checks: [{ check: hung, intervalMs: 100, timeoutMs: 50, hysteresis: { failAfter: 1, recoverAfter: 1 } }], log: silentLogger() });
    health.start();
    await waitFor(() => health.snapshot().checks.printer.status === 'down', 'the hung check to be called down', 5000);
    expect(health.snapshot().checks.printer.detail).toMatch(/timed out after 1050 ms waiting for the printer check/);
    await sleep(300);
    expect(runs).toBe(1);
    release();
    await waitFor(() => runs >= 2, 'the next run once the hung one settled');
    release();
    await health.stop();
  });
});
