import type { ServerResponse } from 'node:http';

/** A page that keeps more than this unread is too slow to follow and is dropped (it reconnects). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface SseEvent {
  type: string;
  data: unknown;
}

/** Server-sent events to every open dashboard page; each event is serialised once. */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();

  get size(): number {
    return this.clients.size;
  }

  open(res: ServerResponse, first: SseEvent[]): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    for (const event of first) res.write(frame(event));
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  send(type: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(frame({ type, data }));
  }

  /** A comment line, so proxies and browsers keep an idle stream open. */
  ping(): void {
    this.write(': ping\n\n');
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }
}

function frame(event: SseEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
