import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A fake sysfs tree (thermal zone, an eMMC card's wear, a SATA disk) for the hardware readers,
 * and a `smartctl` program that answers whatever `setSmart` last wrote. Values can be changed
 * while a check reads them.
 */
export class FakeHardware {
  readonly sysfsRoot: string;
  /** A directory holding `smartctl`: put it first on PATH. */
  readonly binDir: string;

  constructor(root: string) {
    this.sysfsRoot = join(root, 'sys');
    this.binDir = join(root, 'bin');
    mkdirSync(join(this.sysfsRoot, 'class/thermal/thermal_zone0'), { recursive: true });
    mkdirSync(join(this.sysfsRoot, 'block/mmcblk0/device'), { recursive: true });
    mkdirSync(join(this.sysfsRoot, 'block/sda'), { recursive: true });
    mkdirSync(this.binDir, { recursive: true });
    writeFileSync(join(this.sysfsRoot, 'class/thermal/thermal_zone0/type'), 'cpu-thermal\n');
    // Prints the answer file next to it, like smartctl -H on an ATA disk (exit 8: the disk is failing);
    // HANG makes it hang like a disk that does not answer.
    const script = join(this.binDir, 'smartctl');
    const answer = join(this.binDir, 'answer');
    writeFileSync(script, `#!/bin/sh\ngrep -q HANG "${answer}" && exec sleep 600\ncat "${answer}"\ngrep -q FAILED "${answer}" && exit 8\nexit 0\n`);
    chmodSync(script, 0o755);
    this.setTemperature(45);
    this.setWear(0x02, 0x01);
    this.setSmart('PASSED');
  }

  setTemperature(celsius: number): void {
    writeFileSync(join(this.sysfsRoot, 'class/thermal/thermal_zone0/temp'), `${Math.round(celsius * 1000)}\n`);
  }

  /** life_time (type A and B, 0x01–0x0B) and pre_eol_info (0x01–0x03). */
  setWear(lifeTime: number, preEol: number): void {
    const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
    writeFileSync(join(this.sysfsRoot, 'block/mmcblk0/device/life_time'), `${hex(lifeTime)} ${hex(lifeTime)}\n`);
    writeFileSync(join(this.sysfsRoot, 'block/mmcblk0/device/pre_eol_info'), `${hex(preEol)}\n`);
  }

  setSmart(verdict: 'PASSED' | 'FAILED!' | 'HANG'): void {
    writeFileSync(
      join(this.binDir, 'answer'),
      `smartctl 7.3 2022-02-28 r5338 [x86_64-linux] (local build)\n\n=== START OF READ SMART DATA SECTION ===\nSMART overall-health self-assessment test result: ${verdict}\n`,
    );
  }
}
