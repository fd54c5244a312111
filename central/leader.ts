import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../lib/log.js';
import { withTimeout } from '../lib/timeout.js';

/**
 * Which replica does singleton work (runbooks, backups, escalation timers). Emits 'leader' when
 * this replica gains leadership and 'follower' when it loses it; `isLeader()` is the current state.
 */
export interface Leadership {
  isLeader(): boolean;
  on(event: 'leader' | 'follower', listener: () => void): this;
  off(event: 'leader' | 'follower', listener: () => void): this;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A single central on SQLite: always the leader while running. */
export class SoleLeader extends EventEmitter implements Leadership {
  private leading = false;

  isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    this.leading = true;
    this.emit('leader');
  }

  async stop(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.emit('follower');
  }
}

/** One key per database: only central's leader lock lives in this advisory-lock key. */
export const LEADER_LOCK = 0x686f7400;

export interface PgLeaderOptions {
  url: string;
  log: Logger;
  /** Shown in pg_stat_activity, so ops can see which replica holds the lock. */
  name: string;
  /** How often a follower tries the lock and a leader checks its connection. */
  pollMs?: number;
  queryTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * Leader election on a PostgreSQL session advisory lock held by a dedicated connection. The lock
 * lives as long as that session: a leader that dies (kill -9, its machine gone) releases it when
 * PostgreSQL sees the connection end, and a follower polling `pg_try_advisory_lock` takes over.
 * A leader that cannot reach PostgreSQL steps down after at most pollMs + queryTimeoutMs, before
 * the server's TCP keepalive can drop its session and let another replica lead.
 */
export class PgLeader extends EventEmitter implements Leadership {
  private client: pg.Client | undefined;
  private leading = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private readonly queryTimeoutMs: number;

  constructor(private readonly o: PgLeaderOptions) {
    super();
    this.pollMs = o.pollMs ?? 2000;
    this.queryTimeoutMs = o.queryTimeoutMs ?? 2000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Makes the first attempt (so `isLeader()` is meaningful when modules start), then polls. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // Ending the session releases the lock at once: a graceful stop hands over without waiting.
    await this.drop();
  }

  private async tick(): Promise<void> {
    try {
      const client = this.client ?? (await this.connect());
      if (this.leading) {
        await client.query('SELECT 1');
      } else {
        const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK]);
        if (result.rows[0]?.locked && !this.stopped) this.become(true);
      }
    } catch (error) {
      this.o.log.warn({ err: (error as Error).message }, 'leader lock connection failed');
      await this.drop();
    }
    if (!this.stopped) this.timer = setTimeout(() => this.poll(), this.pollMs);
  }

  private poll(): void {
    this.tick().catch((error: unknown) => this.o.log.error({ err: error }, 'leader poll failed'));
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.o.url,
      connectionTimeoutMillis: this.o.connectTimeoutMs ?? 5000,
      query_timeout: this.queryTimeoutMs,
      keepAlive: true,
      application_name: `hotpot-leader ${this.o.name}`.slice(0, 63),
      options: `-c tcp_keepalives_idle=${this.keepaliveIdleSeconds()} -c tcp_keepalives_interval=1 -c tcp_keepalives_count=3`,
    });
    // A lost connection is lost leadership.
    client.on('error', (error) => {
      if (this.client !== client) return;
      this.o.log.warn({ err: error.message }, 'leader lock connection lost');
      this.drop().catch(() => undefined);
    });
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      this.client = undefined;
      throw error;
    }
    return client;
  }

  /**
   * The server drops the session (and so the lock) of a leader whose machine vanished after this
   * idle time plus 3 probes. It is never shorter than a partitioned leader needs to notice and
   * step down (its heartbeat: pollMs + queryTimeoutMs), so two replicas never lead at once.
   * Defaults: the leader steps down within 4 s, the server frees the lock after about 7 s.
   */
  private keepaliveIdleSeconds(): number {
    return Math.max(3, Math.ceil((this.pollMs + this.queryTimeoutMs) / 1000));
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.leading) this.become(false);
    if (client) await withTimeout(client.end(), 2000, 'the leader lock connection to close').catch(() => client.connection.stream.destroy());
  }

  private become(leading: boolean): void {
    this.leading = leading;
    if (leading) this.o.log.info({ replica: this.o.name }, 'leadership acquired');
    else this.o.log.warn({ replica: this.o.name }, 'leadership lost');
    this.emit(leading ? 'leader' : 'follower');
  }
}

/**
 * Runs singleton work only while this replica leads: `start` on gaining leadership (now, if it
 * already leads), `stop` on losing it, serialized. Returns a function that detaches and stops.
 */
export function whileLeader(leader: Leadership, log: Logger, start: () => Promise<void> | void, stop: () => Promise<void> | void): () => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  const step = (work: () => Promise<void> | void) => {
    chain = chain.then(work).catch((error: unknown) => log.error({ err: error }, 'leadership change failed'));
  };
  const onLeader = () => step(start);
  const onFollower = () => step(stop);
  leader.on('leader', onLeader);
  leader.on('follower', onFollower);
  if (leader.isLeader()) onLeader();
  return async () => {
    leader.off('leader', onLeader);
    leader.off('follower', onFollower);
    step(stop);
    await chain;
  };
}
