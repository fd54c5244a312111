import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../lib/log.js';
import { sleep } from '../lib/timeout.js';
import { agentConfigSchema } from '../agent/config.js';
import { DeviceHealth, buildChecks, loadDevices } from '../agent/checks/index.js';
import { inspectJpeg } from '../drivers/index.js';
import { decodeJpeg } from '../drivers/camera.js';
import type { HealthBody } from '../sync/schemas.js';
import { MOSQUITTO_BIN, MosquittoPeer } from '../test/peers/mosquitto.js';
import { PrinterEmulator } from '../test/peers/printer-emulator.js';
import { SnapshotServer, makeJpeg } from '../test/peers/camera.js';
import { TcpTarget } from '../test/peers/tcp-target.js';
import { waitFor } from '../test/peers/net.js';
import { httpJson, startHotpot, tempDir } from '../test/helpers/hotpot.js';
import { unitRuntime } from '../test/helpers/unit-runtime.js';
import { clockTicksPerSecond } from './proc.js';
import { percentile, type BenchResult } from './report.js';

const CUTS = 20;
const LANES = 4;
const IDLE_SECONDS = 30;

function log(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

/**
 * One lane: the agent's internet check with its default settings (1 s interval, failAfter 2)
 * over a TCP target, central absent. Each cut lands at a random phase of the schedule.
 */
async function cutLane(cuts: number): Promise<number[]> {
  const target = await new TcpTarget().open();
  const config = agentConfigSchema.parse({ pointId: 'bench-cut', dataDir: '/tmp', checks: { internet: { targets: [target.url] } } });
  const checks = buildChecks(config, await loadDevices(config), () => false).filter((c) => c.check.name === 'internet');
  const health = new DeviceHealth({ checks, log: silentLogger() });
  const offlineAt: number[] = [];
  health.on('change', () => {
    if (health.snapshot().mode === 'offline') offlineAt.push(performance.now());
  });
  health.start();
  const flips: number[] = [];
  try {
    for (let i = 0; i < cuts; i++) {
      await waitFor(() => health.snapshot().mode === 'online' && health.snapshot().checks.internet.status !== 'down', 'online mode before a cut', 20_000);
      await sleep(Math.random() * 1000);
      const cutAt = performance.now();
      await target.close();
      await waitFor(() => offlineAt.some((at) => at >= cutAt), 'manual-order mode after a cut', 20_000, 5);
      flips.push(offlineAt.find((at) => at >= cutAt)! - cutAt);
      await target.open();
    }
  } finally {
    await health.stop();
    await target.close();
  }
  return flips;
}

async function cutToOffline(): Promise<BenchResult[]> {
  const lanes = await Promise.all(Array.from({ length: LANES }, () => cutLane(CUTS / LANES)));
  const flips = lanes.flat().sort((a, b) => a - b);
  log(`cut → offline: ${flips.map((f) => Math.round(f)).join(' ')} ms`);
  return [
    { name: 'cut → offline mode p50', value: percentile(flips, 50), unit: 'ms', target: '< 3000 ms', pass: percentile(flips, 50) < 3000, note: `${flips.length} cuts, default internet settings` },
    { name: 'cut → offline mode p99', value: percentile(flips, 99), unit: 'ms', target: '< 3000 ms', pass: percentile(flips, 99) < 3000 },
  ];
}

interface ProcSample {
  cpuTicks: number;
  rssKiB: number;
}

async function sampleProc(pid: number): Promise<ProcSample> {
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  return { cpuTicks: Number(fields[11]) + Number(fields[12]), rssKiB: Number(rss?.[1] ?? 0) };
}

interface IdleFigures {
  cpuPercent: number;
  maxRssMiB: number;
  meanRssMiB: number;
}

/** CPU (utime+stime) and RSS of running processes over the same window, from /proc. */
async function measureIdle(pids: number[], seconds: number): Promise<IdleFigures[]> {
  const ticks = await clockTicksPerSecond();
  const first = await Promise.all(pids.map(sampleProc));
  const rss = pids.map(() => ({ max: 0, sum: 0 }));
  const started = performance.now();
  let samples = 0;
  while (performance.now() - started < seconds * 1000) {
    await sleep(1000);
    (await Promise.all(pids.map(sampleProc))).forEach((sample, i) => {
      rss[i]!.max = Math.max(rss[i]!.max, sample.rssKiB);
      rss[i]!.sum += sample.rssKiB;
    });
    samples++;
  }
  const last = await Promise.all(pids.map(sampleProc));
  const elapsed = (performance.now() - started) / 1000;
  return pids.map((_, i) => ({
    cpuPercent: ((last[i]!.cpuTicks - first[i]!.cpuTicks) / ticks / elapsed) * 100,
    maxRssMiB: rss[i]!.max / 1024,
    meanRssMiB: rss[i]!.sum / Math.max(1, samples) / 1024,
  }));
}

/**
 * Real `hotpot agent` processes (from dist/), left idle: one with every check running against
 * emulated devices (printer on TCP, 640x480 IP camera, two internet targets), and beside it,
 * measured over the same window, one with no device configured, to show what the checks cost.
 */
async function idleAgent(): Promise<BenchResult[]> {
  const dir = tempDir('bench-checks');
  const broker = MOSQUITTO_BIN ? await new MosquittoPeer().start() : undefined;
  const emulator = new PrinterEmulator();
  const camera = await new SnapshotServer({ width: 640, height: 480 }).start();
  const targets = await Promise.all([new TcpTarget().open(), new TcpTarget().open()]);
  await emulator.listenTcp();
  const common = { HOTPOT_MQTT_URL: broker?.url ?? 'mqtt://127.0.0.1:9', HOTPOT_HTTP_PORT: '0' };
  // As the systemd unit runs it: node's flags and the unit's environment.
  const runtime = unitRuntime('hotpot-agent');
  const [agent, bare] = await Promise.all([
    startHotpot('agent', {
      ...common,
      HOTPOT_POINT_ID: 'bench-idle',
      HOTPOT_DATA_DIR: join(dir, 'agent'),
      HOTPOT_CHECKS_INTERNET_TARGETS: targets.map((t) => t.url).join(','),
      HOTPOT_CHECKS_PRINTER_INTERFACE: emulator.tcpAddress,
      HOTPOT_CHECKS_CAMERA_DEVICE: camera.url,
    }, 20_000, runtime),
    startHotpot('agent', { ...common, HOTPOT_POINT_ID: 'bench-bare', HOTPOT_DATA_DIR: join(dir, 'bare') }, 20_000, runtime),
  ]);
  try {
    await waitFor(async () => {
      const checks = (await httpJson<HealthBody>(agent.httpPort, 'GET', '/api/health')).body.checks;
      return Object.values(checks).every((c) => c.detail !== 'not checked yet');
    }, 'every check to have run once', 30_000, 200);
    await sleep(5000); // warm-up: JIT, first camera frames
    const [full, none] = await measureIdle([agent.pid, bare.pid], IDLE_SECONDS);
    const health = (await httpJson<HealthBody>(agent.httpPort, 'GET', '/api/health')).body;
    const statuses = Object.entries(health.checks).map(([name, c]) => (c.status === 'up' ? `${name} up` : `${name} ${c.status} (${c.detail})`)).join(', ');
    log(`idle agent: ${statuses}; camera requests ${camera.requests}, printer status queries ${emulator.statusQueries}`);
    const unit = [...runtime.nodeArgs, ...Object.entries(runtime.env).map(([k, v]) => `${k}=${v}`)].join(' ');
    const note = `${IDLE_SECONDS} s idle, all checks running (${statuses})${broker ? ', Mosquitto' : ', no broker'}; as the unit runs it (${unit})`;
    return [
      { name: 'agent idle RSS (max)', value: full!.maxRssMiB, unit: 'MiB', target: '≤ 90 MiB', pass: full!.maxRssMiB <= 90, note },
      { name: 'agent idle RSS (mean)', value: full!.meanRssMiB, unit: 'MiB' },
      { name: 'agent idle CPU', value: full!.cpuPercent, unit: '%', target: '< 1 %', pass: full!.cpuPercent < 1, note: 'utime+stime of the agent process from /proc/<pid>/stat' },
      { name: 'agent idle RSS (max), no devices', value: none!.maxRssMiB, unit: 'MiB', note: 'same window; printer and camera none, no internet targets' },
      { name: 'agent idle CPU, no devices', value: none!.cpuPercent, unit: '%' },
    ];
  } finally {
    await Promise.all([agent.kill('SIGTERM'), bare.kill('SIGTERM')]);
    await Promise.all([emulator.close(), camera.stop(), ...targets.map((t) => t.close()), broker?.stop()]);
  }
}

const JPEG_RUNS = 20;

async function medianMs(work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await work(); // warm-up: module load, JIT tiers
  const times: number[] = [];
  for (let i = 0; i < JPEG_RUNS; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return percentile(times.sort((a, b) => a - b), 50);
}

/**
 * What the camera check spends on one frame: inspectJpeg's scan of a baseline JPEG (DC values and
 * Huffman codes, no pixels) against jpeg-js's full decode, its fallback, on the frames the idle
 * bench's IP camera serves (jpeg-js encoder, quality 85, 4:4:4).
 */
async function jpegInspection(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [width, height] of [[640, 480], [1920, 1080]] as const) {
    const frame = makeJpeg('scene', 1, width, height);
    const fast = await medianMs(() => inspectJpeg(frame));
    const full = await medianMs(() => decodeJpeg(frame));
    log(`inspectJpeg ${width}x${height} (${Math.round(frame.length / 1024)} KiB): ${fast.toFixed(2)} ms, jpeg-js full decode ${full.toFixed(1)} ms`);
    const note = `median of ${JPEG_RUNS}; ${Math.round(frame.length / 1024)} KiB frame; ${(full / fast).toFixed(0)}x faster than the full decode`;
    results.push(
      { name: `camera frame inspection ${width}x${height}`, value: fast, unit: 'ms', note },
      { name: `camera frame full decode ${width}x${height} (jpeg-js)`, value: full, unit: 'ms', note: 'the fallback, for progressive and other non-baseline JPEGs' },
    );
  }
  return results;
}

export async function run(): Promise<BenchResult[]> {
  return [...(await jpegInspection()), ...(await cutToOffline()), ...(await idleAgent())];
}
