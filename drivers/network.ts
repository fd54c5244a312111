import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { HttpClientError, httpRequest } from '../lib/http-client.js';
import { redactSecrets } from '../lib/redact.js';
import type { Probe, ProbeResult } from './types.js';

/** How the box names itself to the HTTP servers it checks (internet targets, camera snapshots). */
export const AGENT_HEADERS = { 'user-agent': 'hotpot-agent' };

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

/** `tcp://host:port`: reachable when a TCP connection opens. */
export class TcpProbe implements Probe {
  private readonly host: string;
  private readonly port: number;

  constructor(readonly target: string) {
    const url = new URL(target);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port);
  }

  check(timeoutMs: number): Promise<ProbeResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const socket = connect({ host: this.host, port: this.port });
      const done = (result: Omit<ProbeResult, 'target' | 'latencyMs'>) => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ target: this.target, latencyMs: elapsed(started), ...result });
      };
      const timer = setTimeout(() => done({ ok: false, code: 'ETIMEDOUT', message: `no TCP connection within ${timeoutMs} ms` }), timeoutMs);
      socket.once('connect', () => done({ ok: true }));
      socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, code: error.code ?? 'EIO', message: error.message }));
    });
  }
}

/** `http(s)://...`: reachable when any HTTP response comes back (the route works, whatever the status). */
export class HttpProbe implements Probe {
  readonly target: string;

  constructor(private readonly url: string) {
    this.target = redactSecrets(url);
  }

  async check(timeoutMs: number): Promise<ProbeResult> {
    const started = performance.now();
    try {
      await httpRequest({ url: this.url, headers: AGENT_HEADERS, timeoutMs, maxBytes: 0, what: `an HTTP answer from ${this.target}` });
      return { target: this.target, ok: true, latencyMs: elapsed(started) };
    } catch (error) {
      const code = error instanceof HttpClientError ? error.code : 'ETIMEDOUT';
      return { target: this.target, ok: false, latencyMs: elapsed(started), code, message: (error as Error).message };
    }
  }
}

export function createProbe(target: string): Probe {
  return target.startsWith('tcp://') ? new TcpProbe(target) : new HttpProbe(target);
}

/**
 * Whether the kernel has a default route (IPv4 or IPv6); null where /proc/net is not readable.
 * With no default route the box has no link or no DHCP lease, not an internet outage.
 */
export async function hasDefaultRoute(): Promise<boolean | null> {
  const [v4, v6] = await Promise.all([readFile('/proc/net/route', 'utf8').catch(() => null), readFile('/proc/net/ipv6_route', 'utf8').catch(() => null)]);
  if (v4 === null && v6 === null) return null;
  const v4Default = (v4 ?? '')
    .split('\n')
    .slice(1)
    .some((line) => {
      const [, destination, , flags, , , , mask] = line.trim().split(/\s+/);
      return destination === '00000000' && mask === '00000000' && (parseInt(flags ?? '0', 16) & 0x1) === 1;
    });
  const v6Default = (v6 ?? '').split('\n').some((line) => {
    const [destination, prefix, , , , , , , , name] = line.trim().split(/\s+/);
    return destination === '0'.repeat(32) && prefix === '00' && name !== 'lo';
  });
  return v4Default || v6Default;
}
