import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import { startSdNotify, watchdogIntervalMs, type SdNotifier } from '../../lib/sdnotify.js';
import { describeWithPeers, type Peer } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { startChild, type Child } from '../peers/process.js';
import { tempDir, removeTempDirs } from './fixtures.js';

afterAll(removeTempDirs);

const PYTHON = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'python3')).find((path) => existsSync(path));
const NOTIFY_BIN = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find((path) => existsSync(path));
const python: Peer = { name: 'python3', available: Boolean(PYTHON), install: 'apt-get install python3' };
const systemdNotify: Peer = { name: 'systemd-notify', available: Boolean(NOTIFY_BIN), install: 'apt-get install systemd' };

/**
 * Plays systemd's side of NOTIFY_SOCKET: a unix datagram socket that prints each message on a
 * line and closes the file descriptors that come with it, as systemd does to release a
 * sender waiting on BARRIER=1.
 */
const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, fds, _flags, _addr = socket.recv_fds(s, 4096, 16)
    for fd in fds:
        os.close(fd)
    print(" ".join(msg.decode().split()), flush=True)
`;

it('computes the ping interval from WATCHDOG_USEC, only for the watched process', () => {
  const base = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' };
  expect(watchdogIntervalMs(base)).toBe(15_000);
  expect(watchdogIntervalMs({ ...base, WATCHDOG_PID: '4242' }, 4242)).toBe(15_000);
  expect(watchdogIntervalMs({ ...base, WATCHDOG_PID: '4243' }, 4242)).toBeNull();
  expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' })).toBeNull();
  expect(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify' })).toBeNull();
  expect(watchdogIntervalMs({ ...base, WATCHDOG_USEC: 'soon' })).toBeNull();
});

it('does nothing outside systemd (no NOTIFY_SOCKET)', async () => {
  const notifier = startSdNotify(createLogger({ name: 'test', level: 'silent' }), { env: {}, notifyBin: '/nonexistent/systemd-notify' });
  expect(notifier.enabled).toBe(false);
  await notifier.ready();
  notifier.stop();
});

/** A NOTIFY_SOCKET of its own for each notifier, so no test sees another's late messages. */
interface Receiver {
  socket: string;
  messages: string[];
  child: Child;
}

async function startReceiver(): Promise<Receiver> {
  const socket = join(tempDir('notify'), 'notify.sock');
  const child = startChild(PYTHON!, ['-c', RECEIVER, socket]);
  const messages: string[] = [];
  let buffered = '';
  child.proc.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    messages.push(...lines);
  });
  await waitFor(() => messages.includes('listening'), 'the notify socket receiver', 15_000);
  return { socket, messages, child };
}

describeWithPeers('sd_notify through systemd-notify to a real unix datagram socket', [python, systemdNotify], () => {
  const logs: string[] = [];
  const log = createLogger({ name: 'sdnotify-test', level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
  const notifiers: SdNotifier[] = [];
  const receivers: Receiver[] = [];
  const count = (receiver: Receiver, message: string) => receiver.messages.filter((m) => m === message).length;

  afterAll(async () => {
    for (const notifier of notifiers) notifier.stop();
    await Promise.all(receivers.map((receiver) => receiver.child.kill()));
  });

  const start = async (alive?: () => boolean, extraEnv: Record<string, string> = {}) => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const env = { PATH: process.env.PATH, NOTIFY_SOCKET: receiver.socket, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid), ...extraEnv };
    const notifier = startSdNotify(log, { env, notifyBin: NOTIFY_BIN, ...(alive ? { alive } : {}) });
    notifiers.push(notifier);
    return { notifier, receiver };
  };

  it('sends READY=1, then WATCHDOG=1 every half period, each acknowledged through the barrier', async () => {
    const { notifier, receiver } = await start();
    expect(notifier.enabled).toBe(true);
    await notifier.ready();
    expect(receiver.messages).toContain('READY=1');
    await waitFor(() => count(receiver, 'WATCHDOG=1') >= 3, 'three watchdog pings', 15_000);
    // systemd-notify waited on BARRIER=1 and the receiver released it: no failure was logged.
    expect(receiver.messages).toContain('BARRIER=1');
    expect(logs.filter((line) => line.includes('sd_notify failed'))).toEqual([]);
    notifier.stop();
  });

  it('withholds pings while not alive, so systemd restarts a wedged service, and resumes after', async () => {
    let alive = false;
    let checksWhileDead = 0;
    const { notifier, receiver } = await start(() => {
      if (!alive) checksWhileDead++;
      return alive;
    });
    await notifier.ready();
    await waitFor(() => checksWhileDead >= 8, 'eight watchdog periods while not alive', 15_000);
    expect(count(receiver, 'WATCHDOG=1')).toBe(0);
    expect(logs.some((line) => line.includes('withholding watchdog pings'))).toBe(true);
    alive = true;
    await waitFor(() => count(receiver, 'WATCHDOG=1') >= 2, 'pings to resume', 15_000);
    notifier.stop();
  });

  it('sends no pings from a process systemd does not watch (WATCHDOG_PID is another)', async () => {
    let checks = 0;
    const { notifier, receiver } = await start(() => ++checks > 0, { WATCHDOG_PID: String(process.pid + 1) });
    await notifier.ready();
    expect(receiver.messages).toContain('READY=1');
    expect(checks).toBe(0); // no watchdog timer at all
    expect(count(receiver, 'WATCHDOG=1')).toBe(0);
    notifier.stop();
  });

  it('stops pinging on stop()', async () => {
    let checks = 0;
    const { notifier } = await start(() => ++checks > 0);
    await waitFor(() => checks >= 2, 'two watchdog periods', 15_000);
    notifier.stop();
    const stoppedAt = checks;
    // The next ticks would have called alive(); wait out a few periods' worth of real pings elsewhere.
    const { receiver: other } = await start();
    await waitFor(() => count(other, 'WATCHDOG=1') >= 3, 'pings of a second notifier', 15_000);
    expect(checks).toBe(stoppedAt);
  });
});
