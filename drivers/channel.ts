import { connect, type Socket } from 'node:net';
import { TimeoutError, withTimeout } from '../lib/timeout.js';

/** A byte pipe to a device: write a request, read a reply of known length. */
export interface ByteChannel {
  readonly address: string;
  /** Writes `data`, then reads exactly `replyBytes` bytes; the timeout names `what` it waited for. */
  exchange(data: Buffer, replyBytes: number, timeoutMs: number, what: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** A device that cannot be reached; the message says what to check. */
export class DeviceUnreachableError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'DeviceUnreachableError';
  }
}

const SOCKET_HINTS: Record<string, string> = {
  ECONNREFUSED: 'refused the connection (powered off, or another program holds its port?)',
  EHOSTUNREACH: 'has no route to it (network cable or switch?)',
  ENETUNREACH: 'is on an unreachable network',
  ECONNRESET: 'reset the connection',
  ENOTFOUND: 'has a host name that does not resolve',
  EAI_AGAIN: 'has a host name that does not resolve right now',
};

export function socketError(error: NodeJS.ErrnoException, address: string): DeviceUnreachableError {
  const hint = error.code ? SOCKET_HINTS[error.code] : undefined;
  return new DeviceUnreachableError(hint ? `${address} ${hint}` : `${address}: ${error.message}`, error.code);
}

/**
 * A raw TCP printer port (9100). One connection per exchange: JetDirect ports serve one client
 * at a time, and an idle connection can die silently, so none is kept open.
 */
export class TcpChannel implements ByteChannel {
  private readonly host: string;
  private readonly port: number;

  constructor(readonly address: string) {
    const url = new URL(address);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  async exchange(data: Buffer, replyBytes: number, timeoutMs: number, what: string): Promise<Buffer> {
    const socket = connect({ host: this.host, port: this.port });
    let connected = false;
    socket.once('connect', () => (connected = true));
    try {
      return await withTimeout(this.talk(socket, data, replyBytes), timeoutMs, `${what} from ${this.address}`);
    } catch (error) {
      if (error instanceof TimeoutError && !connected) throw new TimeoutError(`a TCP connection to ${this.address}`, timeoutMs);
      throw error;
    } finally {
      socket.destroy();
    }
  }

  private talk(socket: Socket, data: Buffer, replyBytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      socket.once('error', (error: NodeJS.ErrnoException) => reject(socketError(error, this.address)));
      socket.once('close', () => reject(new DeviceUnreachableError(`${this.address} closed the connection before answering`)));
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= replyBytes) resolve(Buffer.concat(chunks).subarray(0, replyBytes));
      });
      socket.once('connect', () => {
        socket.write(data, (error) => {
          if (error) reject(socketError(error, this.address));
          else if (replyBytes === 0) resolve(Buffer.alloc(0));
        });
      });
    });
  }

  async close(): Promise<void> {}
}
