import { createServer, type AddressInfo, type Server } from 'node:net';
import { withTimeout } from './timeout.js';

/** Binds host:port (0 = any) and releases it; resolves to the port, or null when it is taken. */
export function probePort(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** A port the OS says is free right now on `host`. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const port = await probePort(host, 0);
  if (port === null) throw new Error(`cannot bind any port on ${host}`);
  return port;
}

/** `preferred` when it is free, else a free one. */
export async function preferredOrFreePort(host: string, preferred: number): Promise<number> {
  return (await probePort(host, preferred)) ?? freePort(host);
}

/** Starts `server` listening on host:port (0 = any free port); resolves to the bound port. */
export async function listenOn(server: Server, host: string, port: number, what: string): Promise<number> {
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    }),
    5000,
    `${what} to listen on ${host}:${port}`,
  );
  return (server.address() as AddressInfo).port;
}
