import type { Logger } from '../../lib/log.js';
import { loadProbes } from '../../drivers/index.js';
import { CHECK_NAMES, type CheckState } from '../../sync/schemas.js';
import type { AgentConfig } from '../config.js';
import { buildChecks, loadDevices } from './build.js';
import { DeviceHealth } from './runner.js';

const MQTT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ssl:': 8883, 'ws:': 80, 'wss:': 443 };

/** Whether central's broker accepts a TCP connection: doctor has no MQTT session to ask. */
async function brokerReachable(mqttUrl: string, timeoutMs: number): Promise<boolean> {
  const url = new URL(mqttUrl);
  const port = url.port || String(MQTT_PORTS[url.protocol] ?? 1883);
  const [probe] = await loadProbes([`tcp://${url.hostname}:${port}`]);
  return (await probe!.check(timeoutMs)).ok;
}

function formatData(data: CheckState['data']): string {
  if (!data) return '';
  return Object.entries(data)
    .filter(([, value]) => value !== null && value !== false)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}

/** The doctor's table: one row per check, then the mode it implies. */
export function formatDoctorTable(checks: Record<string, CheckState>, mode: string, reason: string): string {
  const rows = CHECK_NAMES.map((name) => [name, checks[name]!.status.toUpperCase(), checks[name]!.detail, formatData(checks[name]!.data)]);
  const header = ['CHECK', 'STATUS', 'DETAIL', 'DATA'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd();
  return [line(header), ...rows.map(line), '', `mode: ${mode} (${reason})`, ''].join('\n');
}

/** `hotpot doctor`: every check once, a table on `out`; 1 when any check is down. */
export async function runDoctor(config: AgentConfig, out: { write(text: string): unknown }, log: Logger): Promise<number> {
  const devices = await loadDevices(config);
  try {
    const health = new DeviceHealth({ checks: buildChecks(config, devices, () => brokerReachable(config.mqtt.url, config.checks.internet.timeoutMs)), log });
    const checks = await health.runOnce();
    out.write(formatDoctorTable(checks, health.snapshot().mode, health.modeReason));
    return Object.values(checks).some((check) => check.status === 'down') ? 1 : 0;
  } finally {
    await devices.close();
  }
}
