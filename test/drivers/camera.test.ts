import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NodeWebcam from 'node-webcam';
import { loadCamera, type Camera } from '../../drivers/index.js';
import { FswebcamCamera, fswebcamArgv, inspectJpeg } from '../../drivers/camera.js';
import { CameraCheck } from '../../agent/checks/index.js';
import { FrameFiles, SnapshotServer, makeJpeg } from '../peers/camera.js';
import { describeWithPeers, peers } from '../helpers/peers.js';

const CHECK = { timeoutMs: 3000, blackLuma: 16, frozenAfter: 3 };

function camera(device: string): Promise<Camera> {
  return loadCamera(device, { resolution: '640x480', skipFrames: 0 }) as Promise<Camera>;
}

describeWithPeers('USB camera through fswebcam (file: and TEST sources)', [peers.fswebcam()], () => {
  const frames = new FrameFiles();

  it('is up on a lit frame, with the capture latency and size in data', async () => {
    const result = await new CameraCheck(await camera(frames.write('scene', makeJpeg('scene', 1))), CHECK).run();
    expect(result.status).toBe('up');
    expect(result.data).toMatchObject({ width: 160, height: 120, latencyMs: expect.any(Number) });
    expect(result.data!.meanLuma).toBeGreaterThan(16);
  });

  it("is up on fswebcam's TEST pattern", async () => {
    expect(await new CameraCheck(await camera('TEST'), CHECK).run()).toMatchObject({ status: 'up' });
  });

  it('is down on a black frame', async () => {
    const result = await new CameraCheck(await camera(frames.write('black', makeJpeg('black'))), CHECK).run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/black frame/);
  });

  it('is down once the same frame comes back frozenAfter times in a row, up when it moves again', async () => {
    const source = frames.write('frozen', makeJpeg('scene', 7));
    const check = new CameraCheck(await camera(source), CHECK);
    expect((await check.run()).status).toBe('up');
    expect((await check.run()).status).toBe('up');
    const third = await check.run();
    expect(third.status).toBe('down');
    expect(third.detail).toMatch(/frozen picture .*last 3 frames are identical/);
    writeFileSync(source.slice('file:'.length), makeJpeg('scene', 8));
    expect((await check.run()).status).toBe('up');
  });

  it('is down when the source is missing, although fswebcam exits 0', async () => {
    const result = await new CameraCheck(await camera(`file:${join(frames.dir, 'unplugged.jpg')}`), CHECK).run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/fswebcam captured nothing/);
  });

  it('is down when the video device does not exist', async () => {
    const result = await new CameraCheck(await camera('/dev/video97'), CHECK).run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/\/dev\/video97/);
  });
});

describeWithPeers('USB capture driven by node-webcam (fswebcam -d TEST stands in for the camera)', [peers.fswebcam()], () => {
  const scratch = mkdtempSync(join(tmpdir(), 'hotpot-webcam-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("captures a frame at the configured size through node-webcam's options", async () => {
    const frame = await inspectJpeg(await new FswebcamCamera('TEST', { resolution: '640x480', skipFrames: 1 }).capture(5000));
    expect({ width: frame.width, height: frame.height }).toEqual({ width: 640, height: 480 });
    const check = await new CameraCheck(await camera('TEST'), CHECK).run();
    expect(check).toMatchObject({ status: 'up', data: { width: 640, height: 480 } });
  });

  it('runs the command line node-webcam would build, as argv with no shell', () => {
    const webcam = new NodeWebcam.FSWebcam({ device: '/dev/video0', width: 320, height: 240, skip: 2, output: 'jpeg', quality: 85, setValues: { Brightness: 40 } });
    expect(fswebcamArgv(webcam)).toEqual(['fswebcam', '--quiet', '-d', '/dev/video0', '-r', '320x240', '--skip', '2', '--no-banner', '-s', 'Brightness=40', '--jpeg', '85', '-']);
  });

  it('hands a device name with shell characters to fswebcam as one argument', async () => {
    const marker = join(scratch, 'pwned');
    const result = await new CameraCheck(await camera(`/dev/video97; touch ${marker}`), CHECK).run();
    expect(result.status).toBe('down');
    expect(existsSync(marker)).toBe(false);
  });

  it('kills a capture that hangs at our timeout', async () => {
    const hanging = join(scratch, 'fswebcam-hangs');
    writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hanging, 0o755);
    const started = Date.now();
    await expect(new FswebcamCamera('TEST', { resolution: '320x240', skipFrames: 0, binary: hanging }).capture(300)).rejects.toThrow(/timed out after 300 ms waiting for fswebcam to capture a frame from TEST/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('IP camera through its HTTP snapshot URL', () => {
  const server = new SnapshotServer();
  let check: CameraCheck;

  beforeAll(async () => {
    await server.start();
    check = new CameraCheck(await camera(server.url), { ...CHECK, timeoutMs: 1000 });
  });
  afterAll(() => server.stop());

  it('is up on live frames', async () => {
    server.behaviour = 'live';
    expect(await check.run()).toMatchObject({ status: 'up', data: { width: 160, height: 120 } });
    expect(await check.run()).toMatchObject({ status: 'up' });
  });

  it('is down when the camera answers 500', async () => {
    server.behaviour = 'error';
    expect(await check.run()).toMatchObject({ status: 'down', detail: expect.stringMatching(/answered HTTP 500/) });
  });

  it('is down, naming the wait, when the camera does not answer in time', async () => {
    server.behaviour = 'hang';
    const result = await check.run();
    expect(result.status).toBe('down');
    expect(result.detail).toMatch(/timed out after 1000 ms waiting for a snapshot from http:\/\/127\.0\.0\.1/);
  });

  it('is down on an image that does not decode', async () => {
    server.behaviour = 'garbage';
    expect(await check.run()).toMatchObject({ status: 'down', detail: expect.stringMatching(/does not decode as JPEG/) });
  });

  it('is down on a black frame and on a frozen picture', async () => {
    server.behaviour = 'black';
    expect(await check.run()).toMatchObject({ status: 'down', detail: expect.stringMatching(/black frame/) });
    server.behaviour = 'frozen';
    const results = [await check.run(), await check.run(), await check.run()];
    expect(results.map((r) => r.status)).toEqual(['up', 'up', 'down']);
  });

  it('never shows a password from the snapshot URL', async () => {
    const withPassword = await camera(server.url.replace('http://', 'http://admin:s3cret@'));
    expect(withPassword.address).not.toContain('s3cret');
    server.behaviour = 'error';
    const result = await new CameraCheck(withPassword, CHECK).run();
    expect(result.detail).not.toContain('s3cret');
  });
});
