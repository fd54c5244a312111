import { describe, expect, it } from 'vitest';
import { NO_OVERRIDES, applyResult, assessInternet, assessSystem, decideMode, foldResults, type CheckResult } from '../../agent/checks/index.js';
import type { ProbeResult } from '../../drivers/index.js';

const up: CheckResult = { status: 'up', detail: 'fine' };
const down: CheckResult = { status: 'down', detail: 'internet unreachable' };
const policy = { failAfter: 2, recoverAfter: 3 };

/** Results one second apart, as the internet check produces them. */
function history(results: CheckResult[]) {
  return results.map((result, i) => ({ result, at: i * 1000 }));
}

describe('hysteresis', () => {
  it('takes the first result as is', () => {
    expect(foldResults(history([down]), policy).state).toMatchObject({ status: 'down', since: 0 });
  });

  it('goes down only after failAfter consecutive failures, and back up after recoverAfter successes', () => {
    const states = [up, down, down, up, up, up].map((_, i, all) => foldResults(history(all.slice(0, i + 1)), policy).state!.status);
    expect(states).toEqual(['up', 'up', 'down', 'down', 'down', 'up']);
    expect(foldResults(history([up, down, down]), policy).state!.since).toBe(2000);
  });

  it('does not move on a streak that breaks before it is long enough', () => {
    expect(foldResults(history([up, down, up, down, up, down]), policy).state).toMatchObject({ status: 'up', since: 0 });
  });

  it('keeps `since` when only the detail changes', () => {
    const track = applyResult(applyResult({ state: null, streak: null }, up, 5, policy), { status: 'up', detail: 'still fine', data: { latencyMs: 3 } }, 9, policy);
    expect(track.state).toEqual({ status: 'up', detail: 'still fine', since: 5, data: { latencyMs: 3 } });
  });

  it.each([
    { sampleMs: 1000, hysteresis: { failAfter: 2, recoverAfter: 3 } },
    { sampleMs: 250, hysteresis: { failAfter: 4, recoverAfter: 4 } },
  ])('does not flap the mode for a link flapping every 500 ms, sampled every $sampleMs ms, at any phase', ({ sampleMs, hysteresis }) => {
    for (let phase = 0; phase < 1000; phase += 50) {
      const samples = Array.from({ length: 60 }, (_, i) => ((phase + i * sampleMs) % 1000 < 500 ? up : down));
      const modes = samples.map((_, i) => decideMode(foldResults(history(samples.slice(0, i + 1)), hysteresis).state, NO_OVERRIDES).mode);
      const changes = modes.filter((mode, i) => i > 0 && mode !== modes[i - 1]).length;
      expect(changes, `phase ${phase} ms`).toBe(0);
    }
  });
});

describe('mode machine', () => {
  const internetDown = { status: 'down' as const, detail: 'internet unreachable: all 2 targets fail', since: 1 };
  const internetUp = { status: 'up' as const, detail: '2/2 internet targets answer', since: 1 };

  it('is offline while the internet check is down, online otherwise', () => {
    expect(decideMode(internetDown, NO_OVERRIDES)).toEqual({ mode: 'offline', reason: 'internet down: internet unreachable: all 2 targets fail' });
    expect(decideMode(internetUp, NO_OVERRIDES).mode).toBe('online');
    expect(decideMode({ ...internetUp, status: 'degraded' }, NO_OVERRIDES).mode).toBe('online');
    expect(decideMode(null, NO_OVERRIDES).mode).toBe('online');
  });

  it('is offline whenever staff or central force it', () => {
    expect(decideMode(internetUp, { staff: 'offline', central: null })).toEqual({ mode: 'offline', reason: 'forced offline by staff' });
    expect(decideMode(internetUp, { staff: null, central: 'offline' })).toEqual({ mode: 'offline', reason: 'forced offline by central' });
  });
});

function probe(target: string, ok: boolean, code?: string, latencyMs = 20): ProbeResult {
  return ok ? { target, ok, latencyMs } : { target, ok, latencyMs, code: code!, message: code! };
}

describe('internet assessment', () => {
  const facts = { central: true, defaultRoute: null, slowMs: 500 };

  it('is up with every target answering and central connected, latency in data only', () => {
    const result = assessInternet({ ...facts, probes: [probe('tcp://a:443', true, undefined, 10), probe('https://b', true, undefined, 30)] });
    expect(result).toMatchObject({ status: 'up', detail: '2/2 internet targets answer', data: { latencyMs: 30, targetsUp: 2 } });
  });

  it('tells "only central unreachable" when the targets answer but the MQTT link is down', () => {
    const result = assessInternet({ ...facts, central: false, probes: [probe('tcp://a:443', true)] });
    expect(result.status).toBe('degraded');
    expect(result.detail).toMatch(/^only central unreachable/);
  });

  it('tells "no link or route" from the errno codes or from a missing default route', () => {
    const noRoute = assessInternet({ ...facts, central: false, probes: [probe('tcp://a:443', false, 'ENETUNREACH'), probe('tcp://b:443', false, 'ETIMEDOUT')] });
    expect(noRoute).toMatchObject({ status: 'down', detail: 'no link or route: tcp://a:443 ENETUNREACH' });
    const noDefault = assessInternet({ ...facts, central: false, defaultRoute: false, probes: [probe('tcp://a:443', false, 'ETIMEDOUT')] });
    expect(noDefault.detail).toMatch(/^no link or route: the box has no default route/);
  });

  it('tells "internet unreachable" when every target fails with a route in place', () => {
    const result = assessInternet({ ...facts, central: false, defaultRoute: true, probes: [probe('tcp://a:443', false, 'ECONNREFUSED'), probe('https://b', false, 'ETIMEDOUT')] });
    expect(result).toMatchObject({ status: 'down', detail: 'internet unreachable: all 2 targets fail (tcp://a:443 ECONNREFUSED, https://b ETIMEDOUT)' });
  });

  it('is degraded, not down, when some targets fail or answer slowly, or when only central answers', () => {
    expect(assessInternet({ ...facts, probes: [probe('tcp://a:443', true), probe('tcp://b:443', false, 'ETIMEDOUT')] }).status).toBe('degraded');
    expect(assessInternet({ ...facts, probes: [probe('tcp://a:443', true, undefined, 900)] }).detail).toMatch(/^slow internet/);
    expect(assessInternet({ ...facts, probes: [probe('tcp://a:443', false, 'ETIMEDOUT')] }).status).toBe('degraded');
  });

  it('falls back to the central link when no target is configured', () => {
    expect(assessInternet({ ...facts, probes: [] }).status).toBe('up');
    expect(assessInternet({ ...facts, central: false, probes: [] })).toMatchObject({ status: 'down', detail: expect.stringMatching(/^central unreachable/) });
  });
});

describe('box assessment', () => {
  const limits = { cpuPercent: 80, memoryPercent: 80, diskPercent: 80 };

  it('is up within limits and degraded over any, naming it', () => {
    expect(assessSystem({ cpuPercent: 10, memoryPercent: 50, diskPercent: 40, temperatureC: null }, limits).status).toBe('up');
    const hot = assessSystem({ cpuPercent: 10, memoryPercent: 50, diskPercent: 91.5, temperatureC: 85 }, limits);
    expect(hot).toMatchObject({ status: 'degraded', detail: 'disk (data directory) over 80 %', data: { diskPercent: 91.5, temperatureC: 85 } });
  });
});
