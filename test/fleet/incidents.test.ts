import { afterEach, describe, expect, it } from 'vitest';
import type { Central } from '../../central/central.js';
import type { Incident } from '../../central/incidents/types.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { startFleetCentral } from './helpers.js';

describe('incident HTTP API (real central)', () => {
  let central: Central | undefined;
  afterEach(async () => {
    await central?.stop();
    central = undefined;
  });

  it('lists with filters, shows a timeline, and acks with a validated body', async () => {
    central = await startFleetCentral(tempDir('incidents-http'));
    const port = central.httpPort!;
    const a = central.incidents.raise({ key: 'point:tbilisi-01:printer', title: 'printer down', severity: 'major', detail: 'off', pointId: 'tbilisi-01' });
    const b = central.incidents.raise({ key: 'point:batumi-01:camera', title: 'camera down', severity: 'minor', detail: 'black', pointId: 'batumi-01' });
    central.incidents.clear(b.key, 'camera up again');

    const all = await httpJson<Incident[]>(port, 'GET', '/api/incidents');
    expect(all.body.map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
    const open = await httpJson<Incident[]>(port, 'GET', '/api/incidents?status=open');
    expect(open.body.map((i) => i.id)).toEqual([a.id]);
    const batumi = await httpJson<Incident[]>(port, 'GET', '/api/incidents?pointId=batumi-01');
    expect(batumi.body.map((i) => i.id)).toEqual([b.id]);
    expect((await httpJson(port, 'GET', '/api/incidents?status=sideways')).status).toBe(400);

    const detail = await httpJson<{ timeline: { kind: string }[] }>(port, 'GET', `/api/incidents/${b.id}`);
    expect(detail.body.timeline.map((t) => t.kind).filter((kind) => kind !== 'notify')).toEqual(['opened', 'resolved']);
    expect((await httpJson(port, 'GET', '/api/incidents/nope')).status).toBe(404);

    const bad = await httpJson<{ error: string }>(port, 'POST', `/api/incidents/${a.id}/ack`, { note: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('note');
    expect(central.incidents.get(a.id)!.status).toBe('open');

    // The audit names who signed in; a `by` in the body is ignored.
    const nino = await central.access.createToken('nino', 'operator');
    const acked = await httpJson<Incident>(port, 'POST', `/api/incidents/${a.id}/ack`, { by: 'giorgi' }, { authorization: `Bearer ${nino}` });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acked', ackedBy: 'nino' });
    const anonymous = await httpJson<Incident>(port, 'POST', `/api/incidents/${b.id}/ack`);
    expect(anonymous.body.status).toBe('resolved');
    expect((await httpJson(port, 'POST', '/api/incidents/nope/ack', {})).status).toBe(404);
  });
});
