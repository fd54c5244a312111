import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostWatchSchema } from '../../central/recovery/config.js';
import { HostWatch, evaluateHost, hostSampler, type HostSample } from '../../central/recovery/host-watch.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';

const config = hostWatchSchema.parse({ sustainedSamples: 2 });
const sample = (cpu: number, memory: number, disk: number): HostSample => ({ cpuPercent: cpu, memoryPercent: memory, disks: [{ mount: '/', usedPercent: disk }] });

describe('central host self-watch', () => {
  it('flags memory and disk at once, CPU only when sustained', () => {
    let counts = {};
    const first = evaluateHost(sample(95, 50, 85), config, counts);
    counts = first.counts;
    expect(first.findings.filter((f) => f.over).map((f) => f.key)).toEqual(['central:host:disk:/']);
    const second = evaluateHost(sample(97, 81, 85), config, counts);
    expect(second.findings.filter((f) => f.over).map((f) => f.key)).toEqual(['central:host:cpu', 'central:host:memory', 'central:host:disk:/']);
    expect(second.findings[0]!.detail).toBe('CPU load 97.0% (limit 80%)');
    const calm = evaluateHost(sample(10, 10, 10), config, second.counts);
    expect(calm.findings.some((f) => f.over)).toBe(false);
    expect(calm.counts['central:host:cpu']).toBe(0);
  });

  it('raises and clears incidents through the sink', async () => {
    const incidents = new MemoryIncidents();
    const samples = [sample(50, 90, 50), sample(50, 40, 50)];
    const watch = new HostWatch({ config, incidents, sample: async () => samples.shift()! });
    await watch.check();
    expect(incidents.open.get('central:host:memory')).toMatchObject({ severity: 'major', detail: 'central host memory use 90.0% (limit 80%)' });
    await watch.check();
    expect(incidents.open.size).toBe(0);
  });

  it('samples this machine for real', async () => {
    const real = await hostSampler(tmpdir())();
    expect(real.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(real.cpuPercent).toBeLessThanOrEqual(100);
    expect(real.memoryPercent).toBeGreaterThan(0);
    expect(real.memoryPercent).toBeLessThan(100);
    expect(real.disks.length).toBeGreaterThan(0);
  });
});
