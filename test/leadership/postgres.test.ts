import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { PgLeader, whileLeader } from '../../central/leader.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { waitFor } from '../peers/net.js';
import { throwawayDatabase, type ThrowawayDatabase } from '../peers/postgres.js';
import { leadershipContract, leadershipEvents } from './leadership.contract.js';

describeWithPeers('leadership on a PostgreSQL advisory lock', [peers.postgres()], () => {
  let database: ThrowawayDatabase;
  let replicas = 0;
  beforeAll(async () => {
    // Advisory locks are per database: this file's contenders compete only with each other.
    database = await throwawayDatabase('hotpot_test_leader');
  });
  afterAll(async () => {
    await database?.drop();
  });
  const contender = (name = `replica-${++replicas}`) => new PgLeader({ url: database.url, log: silentLogger(), name, pollMs: 200 });

  describe('contract: PgLeader alone', () => {
    leadershipContract(() => contender());
  });

  describe('among contenders', () => {
    const started: PgLeader[] = [];
    afterEach(async () => {
      for (const leader of started.splice(0)) await leader.stop();
    });
    async function replica(name: string): Promise<{ leader: PgLeader; events: string[] }> {
      const leader = contender(name);
      const events = leadershipEvents(leader);
      started.push(leader);
      await leader.start();
      return { leader, events };
    }
    /** PostgreSQL ends the replica's lock session, as when its link or its server connection dies. */
    const killSession = (name: string) =>
      database.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hotpot-leader ${name}' AND datname = current_database()`);

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
      await killSession('a');
      await waitFor(() => !a.leader.isLeader(), 'a to step down', 20_000);
      await waitFor(() => b.leader.isLeader() || a.leader.isLeader(), 'someone to lead again', 20_000);
      expect(a.events[1]).toBe('follower');
      expect(a.leader.isLeader() && b.leader.isLeader()).toBe(false);
    });

    it('whileLeader moves the singleton work: stopped where the connection died, started on the replica that took over', async () => {
      const a = await replica('a');
      const b = await replica('b');
      const work: string[] = [];
      const detachA = whileLeader(a.leader, silentLogger(), () => void work.push('a start'), () => void work.push('a stop'));
      const detachB = whileLeader(b.leader, silentLogger(), () => void work.push('b start'), () => void work.push('b stop'));
      await waitFor(() => work.length === 1, 'the work to start on the leader');
      expect(work).toEqual(['a start']);
      await killSession('a');
      // Whichever replica wins the lock next (a may reconnect first), the work ran nowhere twice at once.
      await waitFor(() => work.length === 3, 'the work to stop on a and start on the next leader', 20_000);
      const next = b.leader.isLeader() ? 'b' : 'a';
      expect(work).toEqual(['a start', 'a stop', `${next} start`]);
      await detachA();
      await detachB();
    });
  });
});
