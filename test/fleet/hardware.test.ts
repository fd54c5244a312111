import { afterEach, describe, expect, it } from 'vitest';
import type { PointView } from '../../central/fleet.js';
import type { FleetEvent, SeriesPoint } from '../../central/history/store.js';
import { waitFor } from '../peers/net.js';
import { FakeHardware } from '../peers/hardware.js';
import { httpJson, startHotpot, tempDir } from '../helpers/hotpot.js';
import { agentMqttEnv, brokerOf } from '../helpers/logins.js';
import { startFleetCentral } from './helpers.js';

describe('hardware health from a real agent (child process) to central incidents over the embedded broker', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  it('a worn eMMC and smartctl FAILED open the point:<id>:disk-health incident; good values resolve it; history keeps the check', async () => {
    const hw = new FakeHardware(tempDir('hw-agent'));
    const central = await startFleetCentral(tempDir('hw-central'), { extra: { alerts: { tickMs: 100 } } });
    running.push(central);
    const agent = await startHotpot('agent', {
      HOTPOT_POINT_ID: 'rustavi-01',
      HOTPOT_DATA_DIR: tempDir('hw-agent-data'),
      ...agentMqttEnv(brokerOf(central), 'rustavi-01'),
      HOTPOT_HTTP_PORT: '0',
      HOTPOT_CHECKS_HARDWARE_SYSFS_ROOT: hw.sysfsRoot,
      HOTPOT_CHECKS_HARDWARE_INTERVAL_MS: '300',
      HOTPOT_CHECKS_HARDWARE_FAIL_AFTER: '1',
      // The agent runs the fake smartctl on PATH itself, as it does as root (not root it would read the SMART report).
      HOTPOT_CHECKS_HARDWARE_SMARTCTL: 'smartctl',
      PATH: `${hw.binDir}:${process.env.PATH ?? ''}`,
    });
    running.push({ stop: () => agent.kill('SIGKILL') });
    const key = 'point:rustavi-01:disk-health';
    const point = async () => (await httpJson<PointView>(central.httpPort!, 'GET', '/api/points/rustavi-01')).body;

    await waitFor(async () => (await point()).checks?.disk?.status === 'up', 'the disk check up at central');
    expect((await point()).checks.temperature).toMatchObject({ status: 'up', data: { temperatureC: 45 } });
    // The temperature is kept as a series beside cpu/memory/disk.
    const series = async () => (await httpJson<{ series: SeriesPoint[] }>(central.httpPort!, 'GET', '/api/points/rustavi-01/history')).body.series;
    expect((await series()).at(-1)!.temperature).toBe(45);

    hw.setWear(0x0a, 0x03);
    hw.setSmart('FAILED!');
    await waitFor(() => central.incidents.openFor(key) !== null, 'the disk-health incident');
    const incident = central.incidents.openFor(key)!;
    expect(incident).toMatchObject({ severity: 'major', pointId: 'rustavi-01', title: 'rustavi-01: disk failing' });
    expect(incident.detail).toContain('/dev/sda failing');
    expect(incident.detail).toContain('/dev/mmcblk0 reserved blocks 90 % used (pre-EOL urgent)');
    expect((await point()).checks.disk).toMatchObject({ status: 'down', data: { wearPercent: 100, preEol: 3, smartFailed: 1 } });

    hw.setWear(0x02, 0x01);
    hw.setSmart('PASSED');
    await waitFor(() => central.incidents.openFor(key) === null, 'the disk-health incident resolved');
    expect(central.incidents.get(incident.id)).toMatchObject({ status: 'resolved' });

    await waitFor(async () => {
      const events = (await httpJson<{ events: FleetEvent[] }>(central.httpPort!, 'GET', '/api/points/rustavi-01/history')).body.events;
      return ['up', 'down'].every((value) => events.some((e) => e.kind === 'check:disk' && e.value === value));
    }, 'the disk check in the history');
  });
});
