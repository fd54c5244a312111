import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { loadAgentConfig } from '../../agent/config.js';
import { runDoctor } from '../../agent/checks/index.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { FrameFiles, makeJpeg } from '../peers/camera.js';
import { TcpTarget } from '../peers/tcp-target.js';
import { freePort } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { HOTPOT_BIN, tempDir } from '../helpers/hotpot.js';

describeWithPeers('hotpot doctor', [peers.fswebcam()], () => {
  const emulator = new PrinterEmulator();
  const target = new TcpTarget();
  const frames = new FrameFiles();
  const dir = tempDir('doctor');
  let configFile: string;

  beforeAll(async () => {
    await Promise.all([emulator.listenTcp(), target.open()]);
    configFile = join(dir, 'agent.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        pointId: 'kutaisi-02',
        dataDir: join(dir, 'data'),
        // No broker there: central is unreachable, the internet is not.
        mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` },
        checks: {
          internet: { targets: [target.url] },
          printer: { interface: emulator.tcpAddress },
          camera: { device: frames.write('door', makeJpeg('scene', 3)) },
        },
      }),
    );
  });
  afterAll(async () => {
    await Promise.all([emulator.close(), target.close()]);
  });

  async function doctor(): Promise<{ code: number; table: string }> {
    let table = '';
    const code = await runDoctor(loadAgentConfig(configFile, {}), { write: (text: string) => (table += text) }, silentLogger());
    return { code, table };
  }

  it('prints one row per check and exits 0 when nothing is down', async () => {
    const { code, table } = await doctor();
    const rows = table.split('\n');
    expect(rows[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL\s+DATA$/);
    expect(rows.find((r) => r.startsWith('internet'))).toMatch(/DEGRADED\s+only central unreachable/);
    expect(rows.find((r) => r.startsWith('printer'))).toMatch(/UP\s+ready/);
    expect(rows.find((r) => r.startsWith('camera'))).toMatch(/UP\s+160x120 frames/);
    expect(rows.find((r) => r.startsWith('system'))).toMatch(/(UP|DEGRADED)\s+/);
    expect(table).toMatch(/mode: online/);
    expect(code).toBe(0);
  });

  it('exits 1 and says why when a check is down', async () => {
    emulator.set({ paperEnd: true });
    try {
      const { code, table } = await doctor();
      expect(table.split('\n').find((r) => r.startsWith('printer'))).toMatch(/DOWN\s+paper end/);
      expect(code).toBe(1);
    } finally {
      emulator.set({});
    }
  });

  it('runs as `hotpot doctor --config FILE` from the build', async () => {
    emulator.set({ coverOpen: true });
    try {
      const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile(process.execPath, [HOTPOT_BIN, 'doctor', '--config', configFile], { timeout: 60_000 }, (error, stdout) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout });
        });
      });
      expect(result.stdout).toMatch(/printer\s+DOWN\s+cover open/);
      expect(result.code).toBe(1);
    } finally {
      emulator.set({});
    }
  });

  it('says where fswebcam is, and fails when the configured camera needs it and it is missing', async () => {
    const { table } = await doctor();
    expect(table).toMatch(/^fswebcam: \/\S+\/fswebcam$/m);
    let withoutIt = '';
    const code = await runDoctor(loadAgentConfig(configFile, {}), { write: (text: string) => (withoutIt += text) }, silentLogger(), tempDir('empty-path'));
    expect(withoutIt).toMatch(/^fswebcam: MISSING \(apt-get install fswebcam\): the camera file:\S+ needs it$/m);
    expect(code).toBe(1);
    const noCamera = { ...loadAgentConfig(configFile, {}) };
    noCamera.checks = { ...noCamera.checks, camera: { ...noCamera.checks.camera, device: 'none' } };
    let warned = '';
    expect(await runDoctor(noCamera, { write: (text: string) => (warned += text) }, silentLogger(), tempDir('empty-path'))).toBe(0);
    expect(warned).toMatch(/^fswebcam: MISSING \(apt-get install fswebcam\): a USB camera would need it$/m);
  });
});
