import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskHealthCheck } from '../../agent/checks/hardware.js';
import { readDisks } from '../../drivers/hardware.js';
import { SMART_REPORT_MAX_AGE_MS, smartReportSchema, type SmartReport } from '../../drivers/smart-report.js';
import { ManualClock } from '../../lib/clock.js';
import { runCommand } from '../../lib/command.js';
import { HOTPOT_BIN, tempDir } from '../helpers/hotpot.js';
import { FakeHardware } from '../peers/hardware.js';

/** `hotpot smart-report` from the build, with the fake smartctl first on PATH. */
async function smartReport(hw: FakeHardware, out: string, ...extra: string[]) {
  return runCommand({
    argv: [process.execPath, HOTPOT_BIN, 'smart-report', '--out', out, '--sysfs', hw.sysfsRoot, ...extra],
    env: { PATH: `${hw.binDir}:${process.env.PATH ?? ''}` },
    timeoutMs: 30_000,
  });
}

function readReport(file: string): SmartReport {
  return smartReportSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** A box with a SATA disk and an NVMe namespace; `wear` false takes its eMMC card away. */
function box(wear = true): FakeHardware {
  const hw = new FakeHardware(tempDir('smart'));
  mkdirSync(join(hw.sysfsRoot, 'block/nvme0n1'));
  if (!wear) rmSync(join(hw.sysfsRoot, 'block/mmcblk0'), { recursive: true });
  return hw;
}

const PASSED = 'SMART overall-health self-assessment test result: PASSED';
const FAILED = 'SMART overall-health self-assessment test result: FAILED!';

describe('hotpot smart-report: each whole disk asked with smartctl -H, written in one rename', () => {
  it('writes PASSED and FAILED verdicts for every whole disk, world-readable', async () => {
    const hw = box();
    const out = join(tempDir('smart-out'), 'smart.json');
    const passed = await smartReport(hw, out);
    expect(passed).toMatchObject({ exitCode: 0, output: `wrote ${out}: /dev/nvme0n1 passed; /dev/sda passed\n` });
    const report = readReport(out);
    expect(report.disks).toEqual([
      { device: '/dev/nvme0n1', verdict: 'passed', detail: PASSED },
      { device: '/dev/sda', verdict: 'passed', detail: PASSED },
    ]);
    expect(Math.abs(Date.parse(report.at) - Date.now())).toBeLessThan(60_000);
    expect(statSync(out).mode & 0o777).toBe(0o644);

    hw.setSmart('FAILED!');
    expect((await smartReport(hw, out)).exitCode).toBe(0);
    expect(readReport(out).disks.map((d) => d.verdict)).toEqual(['failed', 'failed']);
    expect(readReport(out).disks[1]).toEqual({ device: '/dev/sda', verdict: 'failed', detail: FAILED });
  });

  it('kills a smartctl that hangs at --timeout: that disk is unknown, the report is still written', async () => {
    const hw = box();
    const out = join(tempDir('smart-out'), 'smart.json');
    hw.setSmart('HANG');
    const result = await smartReport(hw, out, '--timeout', '500ms');
    expect(result.exitCode).toBe(0);
    expect(readReport(out).disks).toEqual([
      { device: '/dev/nvme0n1', verdict: 'unknown', detail: 'smartctl -H /dev/nvme0n1 timed out' },
      { device: '/dev/sda', verdict: 'unknown', detail: 'smartctl -H /dev/sda timed out' },
    ]);
  });

  it('without smartctl exits 1 naming the package and leaves the last report alone; a bad --timeout is a usage error', async () => {
    const hw = box();
    const out = join(tempDir('smart-out'), 'smart.json');
    writeFileSync(out, 'last report\n');
    const missing = await smartReport(hw, out, '--smartctl', join(hw.binDir, 'no-such-smartctl'));
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toContain('is not installed: apt install smartmontools');
    expect(readFileSync(out, 'utf8')).toBe('last report\n');
    const bad = await smartReport(hw, out, '--timeout', 'soon');
    expect(bad.exitCode).toBe(2);
    expect(bad.output).toContain('--timeout soon: expected a duration');
  });
});

describe("the agent's disk check reading the SMART report", () => {
  const at = Date.parse('2026-03-01T06:00:00.000Z');

  function check(hw: FakeHardware, report: string, clock: ManualClock): DiskHealthCheck {
    return new DiskHealthCheck(() => readDisks({ sysfsRoot: hw.sysfsRoot, smart: { report, now: () => clock.now(), maxAgeMs: SMART_REPORT_MAX_AGE_MS }, timeoutMs: 5000 }), { wearPercent: 80 });
  }

  function write(file: string, disks: SmartReport['disks'], when = at): void {
    writeFileSync(file, JSON.stringify({ at: new Date(when).toISOString(), disks }));
  }

  it('judges fresh, failed, stale and absent reports', async () => {
    const hw = box(false);
    const file = join(tempDir('smart-report'), 'smart.json');
    const clock = new ManualClock(at + 60_000);
    const disk = check(hw, file, clock);

    expect(await disk.run()).toMatchObject({ status: 'unknown', detail: expect.stringContaining(`no SMART report yet (${file}, written by hotpot-smart.timer every 6h`) });

    write(file, [{ device: '/dev/sda', verdict: 'passed', detail: PASSED }]);
    expect(await disk.run()).toMatchObject({ status: 'up', detail: '/dev/sda SMART passed' });

    write(file, [
      { device: '/dev/nvme0n1', verdict: 'passed', detail: 'SMART Health Status: OK' },
      { device: '/dev/sda', verdict: 'failed', detail: FAILED },
    ]);
    expect(await disk.run()).toMatchObject({ status: 'down', detail: `/dev/sda failing (smartctl: ${FAILED}): replace the disk`, data: { smartFailed: 1 } });

    // Two runs of the 6 h timer missed, and an hour more: the verdict is no longer news.
    clock.set(at + SMART_REPORT_MAX_AGE_MS);
    expect((await disk.run()).status).toBe('down');
    clock.set(at + SMART_REPORT_MAX_AGE_MS + 1);
    const stale = await disk.run();
    expect(stale.status).toBe('unknown');
    expect(stale.detail).toContain(`the SMART report ${file} is stale (made 2026-03-01T06:00:00.000Z, over 13h ago): check hotpot-smart.timer with systemctl status hotpot-smart.timer`);
  });

  it('says what is wrong with a report that is not one, and keeps judging the eMMC wear', async () => {
    const hw = box(false);
    const file = join(tempDir('smart-report'), 'smart.json');
    const clock = new ManualClock(at);
    writeFileSync(file, JSON.stringify({ at: 'yesterday', disks: [{ device: '/dev/sda', verdict: 'fine', detail: '' }] }));
    const bad = await check(hw, file, clock).run();
    expect(bad.status).toBe('unknown');
    expect(bad.detail).toMatch(/the SMART report .* is not valid \(at: must be an ISO 8601 time.*disks\.0\.verdict: .*\): run systemctl start hotpot-smart\.service/);

    // With an eMMC card whose wear the kernel shows, the card is judged; the missing SMART is said.
    const withCard = box(true);
    withCard.setWear(0x09, 0x01);
    expect(await check(withCard, join(tempDir('smart-report'), 'none.json'), clock).run()).toMatchObject({ status: 'degraded', detail: expect.stringContaining('90 % of its life used') });
    withCard.setWear(0x02, 0x01);
    expect(await check(withCard, join(tempDir('smart-report'), 'none.json'), clock).run()).toMatchObject({ status: 'up', detail: expect.stringMatching(/wear 20 %; SMART not known: no SMART report yet/) });
  });

  it('needs no report on a box without a SATA or NVMe disk', async () => {
    const hw = new FakeHardware(tempDir('smart'));
    rmSync(join(hw.sysfsRoot, 'block/sda'), { recursive: true });
    const result = await check(hw, join(tempDir('smart-report'), 'none.json'), new ManualClock(at)).run();
    expect(result).toMatchObject({ status: 'up', detail: '/dev/mmcblk0 wear 20 %' });
  });
});
