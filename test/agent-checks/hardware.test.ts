import { describe, expect, it } from 'vitest';
import { assessDisks, assessTemperature, parseSmartHealth, readDisks, readTemperature, readWear, smartctlArgv } from '../../drivers/hardware.js';
import { tempDir } from '../helpers/hotpot.js';
import { FakeHardware } from '../peers/hardware.js';

const limits = { wearPercent: 80 };

describe('hardware health: pure verdicts', () => {
  it('judges the temperature; no sensor is unknown, never down', () => {
    const temp = { highC: 80, criticalC: 90 };
    expect(assessTemperature(55, temp).status).toBe('up');
    expect(assessTemperature(85, temp)).toMatchObject({ status: 'degraded', data: { temperatureC: 85 } });
    expect(assessTemperature(95, temp).status).toBe('down');
    expect(assessTemperature(null, temp)).toMatchObject({ status: 'unknown', detail: expect.stringContaining('no temperature sensor') });
  });

  it('reads smartctl -H verdicts (ATA, NVMe) and nothing else as a verdict', () => {
    expect(parseSmartHealth('SMART overall-health self-assessment test result: PASSED')).toBe('passed');
    expect(parseSmartHealth('SMART overall-health self-assessment test result: FAILED!')).toBe('failed');
    expect(parseSmartHealth('SMART Health Status: OK')).toBe('passed');
    expect(parseSmartHealth('/dev/sda: Unable to detect device type')).toBe('unknown');
  });

  it('disk failing is down, wearing is degraded, not knowing is unknown', () => {
    const wear = (lifeUsedPercent: number, preEol: number) => [{ device: '/dev/mmcblk0', lifeUsedPercent, preEol }];
    expect(assessDisks({ smart: [{ device: '/dev/sda', verdict: 'failed', detail: 'FAILED!' }], wear: [] }, limits)).toMatchObject({ status: 'down', data: { smartFailed: 1 } });
    expect(assessDisks({ smart: [], wear: wear(100, 3) }, limits)).toMatchObject({ status: 'down', detail: expect.stringContaining('pre-EOL urgent') });
    expect(assessDisks({ smart: [], wear: wear(110, 1) }, limits).status).toBe('down');
    expect(assessDisks({ smart: [], wear: wear(50, 2) }, limits)).toMatchObject({ status: 'degraded', detail: expect.stringContaining('pre-EOL warning') });
    expect(assessDisks({ smart: [], wear: wear(80, 1) }, limits)).toMatchObject({ status: 'degraded', data: { wearPercent: 80 } });
    expect(assessDisks({ smart: [{ device: '/dev/sda', verdict: 'passed', detail: '' }], wear: wear(20, 1) }, limits).status).toBe('up');
    expect(assessDisks({ smart: null, wear: [] }, limits)).toMatchObject({ status: 'unknown', detail: expect.stringContaining('smartctl is not installed') });
  });
});

describe('hardware health: readers over a fake sysfs tree and a smartctl program', () => {
  it('reads temperature, wear and smartctl, and says unknown when smartctl is absent', async () => {
    const hw = new FakeHardware(tempDir('hardware'));
    hw.setTemperature(71.5);
    hw.setWear(0x0a, 0x03);
    hw.setSmart('FAILED!');
    expect(await readTemperature(hw.sysfsRoot)).toBe(71.5);
    expect(await readWear(hw.sysfsRoot)).toEqual([{ device: '/dev/mmcblk0', lifeUsedPercent: 100, preEol: 3 }]);
    const readings = await readDisks({ sysfsRoot: hw.sysfsRoot, smart: { smartctl: [`${hw.binDir}/smartctl`] }, timeoutMs: 5000 });
    expect(readings.smart).toEqual([{ device: '/dev/sda', verdict: 'failed', detail: 'SMART overall-health self-assessment test result: FAILED!' }]);
    expect(assessDisks(readings, limits).status).toBe('down');

    const absent = await readDisks({ sysfsRoot: hw.sysfsRoot, smart: { smartctl: [`${hw.binDir}/no-such-smartctl`] }, timeoutMs: 5000 });
    expect(absent.smart).toBeNull();
    hw.setWear(0x01, 0x01);
    expect(assessDisks(await readDisks({ sysfsRoot: hw.sysfsRoot, smart: { smartctl: [`${hw.binDir}/no-such-smartctl`] }, timeoutMs: 5000 }), limits).status).toBe('up');
    expect(await readTemperature(`${hw.sysfsRoot}/nothing-here`)).toBeNull();
  });

  it('runs smartctl through a configured argv; a refusal (not root) is unknown with its words', async () => {
    const hw = new FakeHardware(tempDir('hardware'));
    hw.setWear(0x01, 0x01);
    hw.setSmart('FAILED!');
    const wrapped = await readDisks({ sysfsRoot: hw.sysfsRoot, smart: { smartctl: ['/usr/bin/env', `${hw.binDir}/smartctl`] }, timeoutMs: 5000 });
    expect(wrapped.smart).toEqual([{ device: '/dev/sda', verdict: 'failed', detail: 'SMART overall-health self-assessment test result: FAILED!' }]);

    // What smartctl answers a user who may not open the disk: no verdict, and the reason shown.
    const refusing = ['/bin/sh', '-c', 'echo "Smartctl open device: /dev/sda failed: Permission denied"; exit 2', 'smartctl'];
    const readings = await readDisks({ sysfsRoot: hw.sysfsRoot, smart: { smartctl: refusing }, timeoutMs: 5000 });
    expect(readings.smart).toEqual([{ device: '/dev/sda', verdict: 'unknown', detail: 'Smartctl open device: /dev/sda failed: Permission denied' }]);
    expect(assessDisks({ smart: readings.smart, wear: [] }, limits)).toMatchObject({ status: 'unknown', detail: expect.stringContaining('smartctl gave no verdict (Smartctl open device: /dev/sda failed: Permission denied)') });
  });

  it('runs smartctl itself as root; otherwise reads the SMART report, unless configured', () => {
    expect(smartctlArgv(undefined, 0)).toEqual(['smartctl']);
    expect(smartctlArgv(undefined, 998)).toBeNull();
    expect(smartctlArgv('/opt/bin/smartctl', 998)).toEqual(['/opt/bin/smartctl']);
    expect(smartctlArgv(['doas', '/usr/sbin/smartctl'], 0)).toEqual(['doas', '/usr/sbin/smartctl']);
  });
});
