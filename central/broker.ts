import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../lib/log.js';
import { withTimeout } from '../lib/timeout.js';
import { listenOn } from '../lib/net.js';

export interface EmbeddedBroker {
  port: number;
  host: string;
  url: string;
  close(): Promise<void>;
}

/**
 * The embedded MQTT broker (aedes, in memory). Nothing durable lives here: the boxes keep every
 * unacked order in SQLite and send it again, so a central restart loses nothing.
 */
export async function startEmbeddedBroker(host: string, port: number, log: Logger): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker({ drainTimeout: 30_000 });
  broker.on('clientError', (client, error) => log.debug({ client: client.id, err: error.message }, 'broker client error'));
  const server: Server = createServer(broker.handle);
  const bound = await listenOn(server, host, port, 'the embedded broker');
  const connectHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port: bound,
    host,
    url: `mqtt://${connectHost}:${bound}`,
    close: () =>
      withTimeout(
        new Promise<void>((resolve) => {
          broker.close(() => server.close(() => resolve()));
        }),
        5000,
        'the embedded broker to close',
      ).catch(() => undefined),
  };
}
