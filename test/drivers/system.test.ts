import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSystemStats } from '../../drivers/index.js';
import { SystemCheck } from '../../agent/checks/index.js';

describe('box statistics', () => {
  it('measures cpu, memory and the disk of the data directory, even one that does not exist yet', async () => {
    const read = await loadSystemStats(join(tmpdir(), 'hotpot-not-created-yet', 'agent'));
    const stats = await read();
    for (const value of [stats.cpuPercent, stats.memoryPercent, stats.diskPercent]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(100);
    }
    expect(stats.memoryPercent).toBeGreaterThan(0);
    expect(stats.diskPercent).toBeGreaterThan(0);
    expect(stats.temperatureC === null || stats.temperatureC > 0).toBe(true);
  });

  it('is degraded when a limit is crossed and up under generous limits', async () => {
    const read = await loadSystemStats(tmpdir());
    const strict = await new SystemCheck(read, { cpuPercent: 100, memoryPercent: 1, diskPercent: 100 }).run();
    expect(strict).toMatchObject({ status: 'degraded', detail: 'memory over 1 %' });
    const generous = await new SystemCheck(read, { cpuPercent: 100, memoryPercent: 100, diskPercent: 100 }).run();
    expect(generous.status).toBe('up');
    expect(generous.data).toMatchObject({ memoryPercent: expect.any(Number), diskPercent: expect.any(Number) });
  });
});
