import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.js';
import { startChild, type Child } from './process.js';

export const MOSQUITTO_BIN = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (ACL, TLS listeners, ...). */
  extraConfig?: string[];
  /** Keep sessions and retained messages on disk across restarts. */
  persistence?: boolean;
  /** Replace the default `listener PORT 127.0.0.1` + `allow_anonymous true` lines. */
  listenerConfig?: (port: number) => string[];
  port?: number;
}

/** A Mosquitto the test suite starts itself, on a free loopback port (1883 is taken here). */
export class MosquittoPeer {
  private child: Child | undefined;
  readonly dir: string;
  port = 0;

  constructor(private readonly options: MosquittoOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'hotpot-mosquitto-'));
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    if (!MOSQUITTO_BIN) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
    if (!this.port) this.port = this.options.port ?? (await freePort());
    const conf = join(this.dir, 'mosquitto.conf');
    const listener = this.options.listenerConfig?.(this.port) ?? [`listener ${this.port} 127.0.0.1`, 'allow_anonymous true'];
    writeFileSync(
      conf,
      [
        ...listener,
        `persistence ${this.options.persistence ? 'true' : 'false'}`,
        `persistence_location ${this.dir}/`,
        'autosave_interval 1',
        // Principle 1: the default 1000 silently drops QoS 1 messages for a lagging subscriber.
        'max_queued_messages 100000',
        'max_inflight_messages 100',
        'message_size_limit 2097152',
        `log_dest file ${join(this.dir, 'mosquitto.log')}`,
        'log_type error',
        'log_type warning',
        'log_type notice',
        ...(this.options.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    this.child = startChild(MOSQUITTO_BIN, ['-c', conf], { logFile: join(this.dir, 'stdout.log') });
    await waitForPort('127.0.0.1', this.port, 'mosquitto');
    return this;
  }

  /** kill -9, as a crashed broker. */
  async kill(): Promise<void> {
    await this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
