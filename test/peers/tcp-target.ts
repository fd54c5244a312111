import { createServer, type Server, type Socket } from 'node:net';
import { withTimeout } from '../../lib/timeout.js';
import { freePort } from './net.js';

/**
 * An internet target the test opens and closes: a TCP listener on one fixed loopback port.
 * Closed, the port refuses connections, as a cut link would fail them.
 */
export class TcpTarget {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  get isOpen(): boolean {
    return this.server !== undefined;
  }

  async open(): Promise<this> {
    if (this.server) return this;
    if (!this.port) this.port = await freePort();
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 5000, `the TCP target on ${this.port} to close`);
  }
}
