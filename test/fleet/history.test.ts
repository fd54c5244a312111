import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import type { Central } from '../../central/central.js';
import type { FleetEvent, SeriesPoint } from '../../central/history/store.js';
import { waitFor } from '../peers/net.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { HandPublisher, healthFor, nextHealthRead, startFleetCentral, viewOf } from './helpers.js';
import { brokerOf } from '../helpers/logins.js';

const MIN = 60_000;
type History = { events: FleetEvent[]; series: SeriesPoint[]; stepMs: number };

describe('fleet history (real central, hand-moved clock)', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  const history = async (central: Central, pointId: string, query = '') =>
    (await httpJson<History>(central.httpPort!, 'GET', `/api/points/${pointId}/history${query}`)).body;

  it('keeps every state change and averages the numbers per bucket; old rows go after their retention', async () => {
    const dir = tempDir('history');
    const clock = new ManualClock(Math.floor(Date.now() / MIN) * MIN);
    const extra = { fleet: { staleAfterMs: 60 * MIN }, history: { bucketMs: MIN, seriesRetentionMs: 30 * MIN, eventsRetentionMs: 60 * MIN } };
    const central = await startFleetCentral(dir, { clock, extra });
    running.push(central);
    const hand = await HandPublisher.connect(brokerOf(central));
    running.push({ stop: () => hand.close() });
    const system = (cpu: number, disk: number) => ({ status: 'up' as const, detail: 'ok', since: clock.now(), data: { cpuPercent: cpu, memoryPercent: 50, diskPercent: disk } });
    const send = async (overrides: Parameters<typeof healthFor>[2]) => {
      const read = nextHealthRead(central, 'rustavi-01');
      await hand.health(healthFor('rustavi-01', clock.now(), overrides));
      await read;
    };

    await hand.status('rustavi-01', true, 1, clock.now());
    await waitFor(() => viewOf(central, 'rustavi-01')?.connected === true, 'the status read');
    // The box's temperature (°C) is a series too, averaged over the reports that carried one.
    const temperature = (celsius: number) => ({ status: 'up' as const, detail: 'within 80 °C', since: clock.now(), data: { temperatureC: celsius } });
    await send({ checks: { system: system(10, 40), temperature: temperature(50) }, unsynced: 0 });
    clock.advance(20_000);
    await send({ checks: { system: system(30, 40), temperature: temperature(61), printer: { status: 'degraded', detail: 'paper low', since: clock.now() } }, unsynced: 5 });
    clock.advance(20_000);
    await send({ checks: { system: system(50, 42), printer: { status: 'degraded', detail: 'paper low', since: clock.now() } }, unsynced: 2 });
    clock.advance(MIN);
    await send({ checks: { system: system(90, 44) }, unsynced: 0, mode: 'offline' });

    const now = await history(central, 'rustavi-01');
    expect(now.stepMs).toBe(MIN);
    expect(now.series.map((s) => [s.cpu, s.memory, s.disk, s.temperature, s.unsynced, s.samples])).toEqual([
      [30, 50, (40 + 40 + 42) / 3, 55.5, 5, 3],
      [90, 50, 44, null, 0, 1],
    ]);
    const changes = now.events.map((e) => `${e.kind}=${e.value}`).reverse();
    expect(changes).toEqual([
      'connection=connected',
      'version=0.1.0-test',
      'mode=online',
      'check:internet=up',
      'check:printer=up',
      'check:camera=up',
      'check:system=up',
      'check:temperature=up',
      'check:printer=degraded',
      'mode=offline',
      'check:printer=up',
    ]);
    expect(now.events.find((e) => e.value === 'degraded')!.detail).toBe('paper low');

    // A restart 40 minutes on: series older than 30 min are pruned, events (60 min) are kept.
    await central.stop();
    running.splice(running.indexOf(central), 1);
    clock.advance(40 * MIN);
    const again = await startFleetCentral(dir, { clock, extra });
    running.push(again);
    const hand2 = await HandPublisher.connect(brokerOf(again));
    running.push({ stop: () => hand2.close() });
    await hand2.health(healthFor('rustavi-01', clock.now()));
    await waitFor(() => viewOf(again, 'rustavi-01') !== null, 'the point seen by the new central');
    const later = await history(again, 'rustavi-01', `?since=${clock.now() - 3 * 60 * MIN}`);
    expect(later.series.filter((s) => s.at < clock.now() - 30 * MIN)).toEqual([]);
    expect(later.events.filter((e) => e.at < clock.now() - 30 * MIN).length).toBe(changes.length);
  });

  it('merges buckets to fit the points asked for', async () => {
    const clock = new ManualClock(Math.floor(Date.now() / MIN) * MIN);
    const central = await startFleetCentral(tempDir('history-steps'), { clock, extra: { fleet: { staleAfterMs: 600 * MIN } } });
    running.push(central);
    const hand = await HandPublisher.connect(brokerOf(central));
    running.push({ stop: () => hand.close() });
    await hand.status('gori-01', true, 1, clock.now());
    for (let i = 0; i < 30; i++) {
      await hand.health(healthFor('gori-01', clock.now(), { unsynced: i }));
      await waitFor(() => viewOf(central, 'gori-01')?.unsynced === i, 'the health read');
      clock.advance(MIN);
    }
    const since = Math.floor((clock.now() - 30 * MIN) / (3 * MIN)) * 3 * MIN;
    const merged = await history(central, 'gori-01', `?since=${since}&until=${since + 30 * MIN}&points=10`);
    expect(merged.stepMs).toBe(3 * MIN);
    expect(merged.series).toHaveLength(10);
        // Each step holds the largest unsynced count seen in its three minutes.
    const first = (since - (clock.now() - 30 * MIN)) / MIN;
    expect(merged.series.map((s) => s.unsynced)).toEqual(Array.from({ length: 10 }, (_, i) => Math.min(29, first + 3 * i + 2)));
    expect((await httpJson(central.httpPort!, 'GET', '/api/points/nowhere-01/history')).status).toBe(404);
    expect((await httpJson(central.httpPort!, 'GET', '/api/points/gori-01/history?points=abc')).status).toBe(400);
  });
});
