import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** A page that keeps more than this unread is too slow to follow and is dropped (it reconnects). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface SseEvent {
  type: string;
  data: unknown;
}

/** One open page: its stream id (the page names it to say which points it shows) and those points. */
export interface SseClient {
  readonly id: string;
  readonly res: ServerResponse;
  watch: ReadonlySet<string>;
}

/** Server-sent events to every open dashboard page; an event for all pages is serialised once. */
export class SseHub {
  private readonly clients = new Map<string, SseClient>();

  get size(): number {
    return this.clients.size;
  }

  /** Starts the stream; `first` builds the opening events, which may name the new client's id. */
  open(res: ServerResponse, first: (client: SseClient) => SseEvent[]): SseClient {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: SseClient = { id: randomUUID(), res, watch: new Set() };
    res.write('retry: 2000\n\n');
    for (const event of first(client)) res.write(frame(event));
    this.clients.set(client.id, client);
    res.on('close', () => this.clients.delete(client.id));
    return client;
  }

  /** The points a page shows now (its live `points` events carry only these); false for an unknown stream. */
  watch(id: string, pointIds: readonly string[]): boolean {
    const client = this.clients.get(id);
    if (!client) return false;
    client.watch = new Set(pointIds);
    return true;
  }

  all(): IterableIterator<SseClient> {
    return this.clients.values();
  }

  send(type: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = frame({ type, data });
    for (const client of [...this.clients.values()]) this.write(client, text);
  }

  sendTo(client: SseClient, type: string, data: unknown): void {
    this.write(client, frame({ type, data }));
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.res.end();
    this.clients.clear();
  }

  private write(client: SseClient, text: string): void {
    if (client.res.writableLength > MAX_BUFFERED_BYTES) {
      this.clients.delete(client.id);
      client.res.destroy();
      return;
    }
    client.res.write(text);
  }
}

function frame(event: SseEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
