import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostWatchSchema } from '../../central/recovery/config.js';
import { HostWatch, evaluateHost, hostSampler, type HostSample } from '../../central/recovery/host-watch.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { FakeHardware } from '../peers/hardware.js';
import { tempDir } from '../helpers/hotpot.js';

const config = hostWatchSchema.parse({ sustainedSamples: 2 });
const sample = (cpu: number, memory: number, disk: number, hardware: Partial<HostSample> = {}): HostSample => ({
  cpuPercent: cpu,
  memoryPercent: memory,
  disks: [{ mount: '/', usedPercent: disk }],
  temperatureC: null,
  diskHealth: { smart: null, wear: [] },
  ...hardware,
});

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

  it('watches the host temperature (sustained) and its disk health like a box', async () => {
    const hw = new FakeHardware(tempDir('host-hardware'));
    const hardware = { sysfsRoot: hw.sysfsRoot, smartctl: `${hw.binDir}/smartctl` };
    const incidents = new MemoryIncidents();
    const watch = new HostWatch({ config, incidents, sample: hostSampler(tmpdir(), hardware) });
    hw.setTemperature(88);
    hw.setSmart('FAILED!');
    await watch.check();
    expect(incidents.open.get('central:host:disk-health')).toMatchObject({ detail: expect.stringContaining('/dev/sda failing') });
    expect(incidents.open.has('central:host:temperature')).toBe(false);
    await watch.check();
    expect(incidents.open.get('central:host:temperature')).toMatchObject({ detail: 'central host temperature 88.0 °C (limit 80 °C)' });
    hw.setTemperature(50);
    hw.setSmart('PASSED');
    await watch.check();
    expect([...incidents.open.keys()].filter((key) => /temperature|disk-health/.test(key))).toEqual([]);
    // No smartctl and no eMMC: not known, so no finding at all (never an alert).
    expect(evaluateHost(sample(1, 1, 1), config, {}).findings.map((f) => f.key)).not.toContain('central:host:disk-health');
  });

  it('samples this machine for real', async () => {
    const real = await hostSampler(tmpdir(), { sysfsRoot: '/sys', smartctl: 'smartctl' })();
    expect(real.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(real.cpuPercent).toBeLessThanOrEqual(100);
    expect(real.memoryPercent).toBeGreaterThan(0);
    expect(real.memoryPercent).toBeLessThan(100);
    expect(real.disks.length).toBeGreaterThan(0);
  });
});
