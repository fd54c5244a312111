import { afterEach, describe, expect, it } from 'vitest';
import type { PointView } from '../../central/fleet.js';
import { withTimeout } from '../../lib/timeout.js';
import { httpJson, suiteToken, tempDir } from '../helpers/hotpot.js';
import { brokerOf } from '../helpers/logins.js';
import { HandPublisher, healthFor, nextHealthRead, startFleetCentral } from '../fleet/helpers.js';

interface StreamEvent {
  type: string;
  data: Record<string, unknown>;
}

/** The dashboard's SSE stream read as a page reads it: events in order, each awaited with a timeout. */
async function openStream(port: number) {
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/api/events`, { headers: { authorization: `Bearer ${suiteToken(port)}` }, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const queue: StreamEvent[] = [];
  /** The next event of `type` (earlier events of other types are skipped). */
  const next = (type: string, timeoutMs = 10_000): Promise<StreamEvent> =>
    withTimeout(
      (async () => {
        for (;;) {
          const index = queue.findIndex((event) => event.type === type);
          if (index >= 0) return queue.splice(0, index + 1).pop()!;
          const { value, done } = await reader.read();
          if (done) throw new Error('the stream ended');
          buffer += value;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const kind = /^event: (.+)$/m.exec(frame)?.[1];
            const data = /^data: (.+)$/m.exec(frame)?.[1];
            if (kind && data) queue.push({ type: kind, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      })(),
      timeoutMs,
      `a "${type}" event on the dashboard stream`,
    );
  return { status: response.status, next, close: () => controller.abort() };
}

describe('the dashboard stream at scale: counts for everyone, point changes only for the points a page shows', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  it('opens with counts and incidents but no points, sends a watching page only its points, and refuses a stream it does not know', async () => {
    const central = await startFleetCentral(tempDir('dash-stream'));
    running.push(central);
    const port = central.httpPort!;
    const hand = await HandPublisher.connect(brokerOf(central));
    running.push({ stop: () => hand.close() });
    const now = Date.now();
    for (const pointId of ['gori-01', 'gori-02', 'zugdidi-01']) {
      const read = nextHealthRead(central, pointId);
      await hand.status(pointId, true, 1, now);
      await hand.health(healthFor(pointId, now));
      await read;
    }

    const stream = await openStream(port);
    running.push({ stop: async () => stream.close() });
    expect(stream.status).toBe(200);
    const snapshot = (await stream.next('snapshot')).data;
    expect(snapshot).not.toHaveProperty('points');
    expect(snapshot.summary).toMatchObject({ points: 3, byCondition: { ok: 3 }, byGroup: { gori: { ok: 2 }, zugdidi: { ok: 1 } } });
    const id = snapshot.stream as string;

    // The page shows gori-01: it gets its view at once, then its changes, and no other point's.
    const watched = await httpJson<{ points: PointView[] }>(port, 'POST', '/api/dashboard/watch', { stream: id, points: ['gori-01'] });
    expect(watched.status).toBe(200);
    expect(watched.body.points.map((p) => p.pointId)).toEqual(['gori-01']);
    await hand.health(healthFor('gori-02', Date.now(), { unsynced: 7 }));
    await hand.health(healthFor('gori-01', Date.now(), { unsynced: 3, checks: { printer: { status: 'down', detail: 'paper out', since: Date.now() } } }));
    const points = (await stream.next('points')).data.points as PointView[];
    expect(points.map((p) => `${p.pointId}:${p.unsynced}`)).toEqual(['gori-01:3']);
    // Everyone hears the new counts.
    const summary = (await stream.next('summary')).data;
    expect(summary).toMatchObject({ points: 3, byCondition: { ok: 2, down: 1 } });

    // A heartbeat comes without any change, so a page can tell central went quiet.
    expect(typeof (await stream.next('tick', 6000)).data.now).toBe('number');

    const unknown = await httpJson<{ code: string }>(port, 'POST', '/api/dashboard/watch', { stream: '0193a5c4-7d2e-7cc1-8a55-3f2b9c1d4e5f', points: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NO_STREAM');
    const bad = await httpJson<{ issues: Array<{ path: string }> }>(port, 'POST', '/api/dashboard/watch', { stream: id, points: ['Not A Point'] });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i) => i.path)).toEqual(['points.0']);
    const context = await httpJson<{ timeZone: string; user: { role: string } }>(port, 'GET', '/api/dashboard/context');
    expect(context.body).toMatchObject({ timeZone: 'Asia/Tbilisi', user: { role: 'admin' } });
  });
});
