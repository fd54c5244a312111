import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { withTimeout } from '../../lib/timeout.js';
import { freePort, waitFor } from '../peers/net.js';
import { TcpProxy } from '../peers/tcp-proxy.js';

/** A real echo server on loopback: what the proxy stands in front of. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port };
}

function open(port: number): Promise<Socket> {
  return withTimeout(
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
      socket.once('error', reject);
    }),
    5000,
    `a connection to the proxy on ${port}`,
  );
}

function echo(socket: Socket, text: string, timeoutMs = 5000): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve) => {
      socket.once('data', (data: Buffer) => resolve(data.toString()));
      socket.write(text);
    }),
    timeoutMs,
    `the echo of "${text}"`,
  );
}

describe('TCP proxy the fault campaign cuts links with', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setUp() {
    const { server, port } = await echoServer();
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const proxy = await new TcpProxy({ host: '127.0.0.1', port }).start();
    cleanup.push(() => proxy.stop());
    return proxy;
  }

  it('passes traffic through; a reset cut drops open connections and refuses new ones until restored', async () => {
    const proxy = await setUp();
    const socket = await open(proxy.port);
    cleanup.push(() => void socket.destroy());
    expect(await echo(socket, 'hello')).toBe('hello');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    proxy.cut('reset');
    await withTimeout(closed, 5000, 'the cut connection to close');
    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    refused.on('error', () => undefined);
    await withTimeout(new Promise<void>((resolve) => refused.once('close', () => resolve())), 5000, 'a new connection to be reset while cut');
    proxy.restore();
    const again = await open(proxy.port);
    cleanup.push(() => void again.destroy());
    expect(await echo(again, 'back')).toBe('back');
  });

  it('a blackhole keeps connections open but silent; restoring drops them and lets new ones through', async () => {
    const proxy = await setUp();
    const socket = await open(proxy.port);
    socket.on('error', () => undefined);
    cleanup.push(() => void socket.destroy());
    proxy.cut('blackhole');
    await expect(echo(socket, 'anyone?', 500)).rejects.toThrow(/timed out/);
    expect(socket.destroyed).toBe(false);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    proxy.restore();
    await withTimeout(closed, 5000, 'the frozen connection to be dropped on restore');
    await waitFor(() => proxy.connections === 0, 'the proxy to forget the dropped link');
    const fresh = await open(proxy.port);
    cleanup.push(() => void fresh.destroy());
    expect(await echo(fresh, 'alive')).toBe('alive');
  });
});
