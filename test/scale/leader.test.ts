import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { PgLeader, SoleLeader } from '../../central/leader.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';

describeWithPeers('leader election on a PostgreSQL advisory lock', [peers.postgres()], () => {
  let database: ThrowawayDatabase;
  const started: PgLeader[] = [];
  beforeAll(async () => {
    database = await throwawayDatabase('hotpot_test_leader');
  });
  afterEach(async () => {
    for (const leader of started.splice(0)) await leader.stop();
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function replica(name: string): Promise<{ leader: PgLeader; events: string[] }> {
    const leader = new PgLeader({ url: database.url, log: silentLogger(), name, pollMs: 200 });
    const events: string[] = [];
    leader.on('leader', () => events.push('leader'));
    leader.on('follower', () => events.push('follower'));
    started.push(leader);
    await leader.start();
    return { leader, events };
  }

  it('one replica leads; when it stops, another takes over', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const c = await replica('c');
    expect(a.leader.isLeader()).toBe(true);
    expect([b, c].every((r) => !r.leader.isLeader())).toBe(true);
    await a.leader.stop();
    expect(a.events).toEqual(['leader', 'follower']);
    await waitFor(() => b.leader.isLeader() || c.leader.isLeader(), 'b or c to take over', 20_000);
    expect(b.leader.isLeader() && c.leader.isLeader()).toBe(false);
  });

  it('a lost connection is lost leadership, and the lock goes to another replica', async () => {
    const a = await replica('a');
    const b = await replica('b');
    expect(a.leader.isLeader()).toBe(true);
    // PostgreSQL ends the leader's session, as when its link or its server connection dies.
    await database.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hotpot-leader a' AND datname = current_database()");
    await waitFor(() => !a.leader.isLeader(), 'a to step down', 20_000);
    await waitFor(() => b.leader.isLeader() || a.leader.isLeader(), 'someone to lead again', 20_000);
    expect(a.events[1]).toBe('follower');
    expect(a.leader.isLeader() && b.leader.isLeader()).toBe(false);
  });
});

describe('leadership of a single central on SQLite', () => {
  it('is always the leader while running', async () => {
    const leader = new SoleLeader();
    const events: string[] = [];
    leader.on('leader', () => events.push('leader'));
    leader.on('follower', () => events.push('follower'));
    expect(leader.isLeader()).toBe(false);
    await leader.start();
    expect(leader.isLeader()).toBe(true);
    await leader.stop();
    expect(leader.isLeader()).toBe(false);
    expect(events).toEqual(['leader', 'follower']);
  });
});
