import { connect, createServer, type Server, type Socket } from 'node:net';
import { withTimeout } from '../../lib/timeout.js';
import { freePort } from './net.js';

/**
 * How a link is cut: `reset` drops every connection at once and refuses new ones (a cable pulled
 * next to a router that answers); `blackhole` keeps the sockets open but moves no byte, so only
 * keepalives can tell (a dead uplink, a NAT that forgot the flow).
 */
export type CutMode = 'reset' | 'blackhole';

interface Link {
  client: Socket;
  upstream: Socket;
}

/**
 * A loopback TCP proxy between clients (agents) and a target (the broker) that a test or a fault
 * campaign controls: cut the link, restore it. The target may restart on the same port meanwhile.
 */
export class TcpProxy {
  port = 0;
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private cutMode: CutMode | null = null;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get isCut(): boolean {
    return this.cutMode !== null;
  }

  get connections(): number {
    return this.links.size;
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, '127.0.0.1', () => resolve());
      }),
      5000,
      `the TCP proxy to listen on 127.0.0.1:${this.port}`,
    );
    return this;
  }

  cut(mode: CutMode): void {
    this.cutMode = mode;
    for (const link of this.links) {
      if (mode === 'reset') this.drop(link);
      else this.freeze(link);
    }
  }

  /** Lets traffic through again; connections frozen by a blackhole are dropped, as their peers gave up on them. */
  restore(): void {
    if (this.cutMode === 'blackhole') for (const link of this.links) this.drop(link);
    this.cutMode = null;
  }

  async stop(): Promise<void> {
    for (const link of this.links) this.drop(link);
    const server = this.server;
    this.server = undefined;
    if (server) await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'the TCP proxy to close').catch(() => undefined);
  }

  private accept(client: Socket): void {
    if (this.cutMode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: this.target.host, port: this.target.port });
    const link: Link = { client, upstream };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    upstream.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    upstream.on('close', () => this.drop(link));
    if (this.cutMode === 'blackhole') {
      this.freeze(link);
      return;
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private freeze(link: Link): void {
    link.client.unpipe(link.upstream);
    link.upstream.unpipe(link.client);
    link.client.pause();
    link.upstream.pause();
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.resetAndDestroy();
    link.upstream.destroy();
  }
}
