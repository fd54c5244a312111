import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { loadProbes } from '../../drivers/index.js';
import { ALL_CHECK_NAMES, type CheckState } from '../../sync/schemas.js';
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
  const rows = ALL_CHECK_NAMES.filter((name) => checks[name]).map((name) => [name, checks[name]!.status.toUpperCase(), checks[name]!.detail, formatData(checks[name]!.data)]);
  const header = ['CHECK', 'STATUS', 'DETAIL', 'DATA'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd();
  return [line(header), ...rows.map(line), '', `mode: ${mode} (${reason})`, ''].join('\n');
}

/** Where `program` is on `pathEnv` (a PATH value), or null. */
export function findOnPath(program: string, pathEnv: string | undefined): string | null {
  for (const dir of (pathEnv ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * The programs the box needs besides node: fswebcam captures from a USB camera (install/agent.sh
 * installs it). Missing while the configured camera needs it: a problem (exit 1); missing with no
 * such camera: a warning, since plugging one in later would fail.
 */
export function prerequisiteLines(config: AgentConfig, pathEnv: string | undefined): { lines: string[]; problem: boolean } {
  const device = config.checks.camera.device;
  const needed = device !== 'none' && !/^https?:\/\//.test(device);
  const fswebcam = findOnPath('fswebcam', pathEnv);
  if (fswebcam) return { lines: [`fswebcam: ${fswebcam}`], problem: false };
  const why = needed ? `the camera ${device} needs it` : 'a USB camera would need it';
  return { lines: [`fswebcam: MISSING (apt-get install fswebcam): ${why}`], problem: needed };
}

/** `hotpot doctor`: every check once, a table on `out`, then the programs the box needs; 1 when any check is down or a needed program is missing. */
export async function runDoctor(config: AgentConfig, out: { write(text: string): unknown }, log: Logger, pathEnv = process.env.PATH): Promise<number> {
  const devices = await loadDevices(config);
  try {
    const health = new DeviceHealth({ checks: buildChecks(config, devices, () => brokerReachable(config.mqtt.url, config.checks.internet.timeoutMs)), log });
    const checks = await health.runOnce();
    out.write(formatDoctorTable(checks, health.snapshot().mode, health.modeReason));
    const prerequisites = prerequisiteLines(config, pathEnv);
    out.write(`${prerequisites.lines.join('\n')}\n`);
    return prerequisites.problem || Object.values(checks).some((check) => check.status === 'down') ? 1 : 0;
  } finally {
    await devices.close();
  }
}
