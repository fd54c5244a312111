import { afterEach, expect, it } from 'vitest';
import type { HealthProvider, HealthSnapshot } from '../../agent/health.js';
import { CHECK_NAMES, HARDWARE_CHECK_NAMES, HealthBody } from '../../sync/schemas.js';
import { waitFor } from '../peers/net.js';

/** A health provider with its internet (for LinkHealth: the link to central) in the test's hands. */
export interface HealthUnderTest {
  provider: HealthProvider;
  /** The internet works again; the provider sees it on its own time. */
  internetUp(): Promise<void>;
  internetDown(): Promise<void>;
  /** The provider sees the same conditions once more (more probe rounds, the same link event again). */
  sameAgain(): Promise<void>;
  close(): Promise<void>;
}

export interface HealthContractOptions {
  /** Whether the provider lets staff and central force manual-order mode (`force`). */
  forcible: boolean;
}

const Snapshot = HealthBody.pick({ mode: true, checks: true }).strict();

/** What the agent publishes must parse as the protocol's health body. */
function expectValid(snapshot: HealthSnapshot): void {
  expect(Snapshot.safeParse(snapshot).error?.issues ?? []).toEqual([]);
  // The four core checks always; the hardware checks only where the provider runs them.
  const keys = Object.keys(snapshot.checks);
  expect(keys.filter((name) => !(HARDWARE_CHECK_NAMES as readonly string[]).includes(name)).sort()).toEqual([...CHECK_NAMES].sort());
}

/** What a 'change' is about: the mode and each check's status and detail (numbers in `data` move without one). */
/** Mode, and status and detail of every check the snapshot has (the hardware checks where the provider runs them). */
const summary = (snapshot: HealthSnapshot) => [
  snapshot.mode,
  ...Object.entries(snapshot.checks as Record<string, { status: string; detail: string } | undefined>)
    .filter((entry): entry is [string, { status: string; detail: string }] => entry[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, check]) => `${name} ${check.status}: ${check.detail}`),
];

/**
 * What the agent relies on from any HealthProvider (LinkHealth, the check runner's DeviceHealth):
 * a snapshot the protocol accepts, manual-order mode exactly while the internet is down, a
 * 'change' for every real change and none without one, and `force` where the provider offers it.
 */
export function healthProviderContract(open: () => Promise<HealthUnderTest>, options: HealthContractOptions): void {
  const opened: HealthUnderTest[] = [];
  afterEach(async () => {
    for (const under of opened.splice(0)) {
      await under.provider.stop();
      await under.close();
    }
  });
  async function running(): Promise<HealthUnderTest & { changes: HealthSnapshot[] }> {
    const under = await open();
    opened.push(under);
    const changes: HealthSnapshot[] = [];
    under.provider.on('change', () => changes.push(under.provider.snapshot()));
    under.provider.start();
    await under.internetUp();
    await waitFor(() => under.provider.snapshot().checks.internet.status === 'up', 'the internet check to report up', 15_000);
    return { ...under, changes };
  }

  it('gives a snapshot of the mode and every check: before start, running, and after stop', async () => {
    const under = await open();
    opened.push(under);
    expectValid(under.provider.snapshot());
    under.provider.start();
    await under.internetUp();
    await waitFor(() => under.provider.snapshot().mode === 'online', 'online mode', 15_000);
    expectValid(under.provider.snapshot());
    await under.provider.stop();
    expectValid(under.provider.snapshot());
  });

  it('a cut internet is a change to manual-order mode, and its return a change back; the mode follows the internet check', async () => {
    const { provider, changes, internetDown, internetUp } = await running();
    expect(provider.snapshot().mode).toBe('online');
    const cutAt = Date.now();
    await internetDown();
    await waitFor(() => provider.snapshot().mode === 'offline', 'manual-order mode after the cut', 15_000);
    expect(summary(changes.at(-1)!)).toEqual(summary(provider.snapshot()));
    const down = provider.snapshot().checks.internet;
    expect(down.status).toBe('down');
    expect(down.since).toBeGreaterThanOrEqual(cutAt);
    expect(down.since).toBeLessThanOrEqual(Date.now());

    await internetUp();
    await waitFor(() => provider.snapshot().mode === 'online', 'online mode after the internet returns', 15_000);
    expect(summary(changes.at(-1)!)).toEqual(summary(provider.snapshot()));
    for (const snapshot of changes) {
      expectValid(snapshot);
      expect(snapshot.mode).toBe(snapshot.checks.internet.status === 'down' ? 'offline' : 'online');
    }
  });

  it('says change only when a status, a detail or the mode changed', async () => {
    const { provider, changes, sameAgain, internetDown } = await running();
    const from = changes.length;
    const baseline = provider.snapshot();
    await sameAgain();
    await internetDown();
    await waitFor(() => provider.snapshot().mode === 'offline', 'manual-order mode after the cut', 15_000);
    await sameAgain();
    const seen = [baseline, ...changes.slice(from)].map(summary);
    expect(seen.length).toBeGreaterThan(1);
    seen.slice(1).forEach((after, i) => expect(after, `change ${i + 1} changed nothing`).not.toEqual(seen[i]));
  });

  if (options.forcible) {
    it('force: staff or central hold manual-order mode until both let go, each step a change only if the mode moved', async () => {
      const { provider, changes } = await running();
      const force = provider.force!.bind(provider);
      const before = changes.length;
      force('staff', 'offline');
      expect(provider.snapshot()).toMatchObject({ mode: 'offline', checks: { internet: { status: 'up' } } });
      expect(changes.length).toBe(before + 1);
      force('staff', 'offline');
      force('central', 'offline');
      force('staff', null);
      expect(provider.snapshot().mode).toBe('offline');
      expect(changes.length).toBe(before + 1);
      force('central', null);
      expect(provider.snapshot().mode).toBe('online');
      expect(changes.length).toBe(before + 2);
    });
  } else {
    it('offers no force: the agent answers a force command by saying its mode cannot be forced', async () => {
      const under = await open();
      opened.push(under);
      expect(under.provider.force).toBeUndefined();
    });
  }
}
