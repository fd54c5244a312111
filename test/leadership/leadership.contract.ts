import { afterEach, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { whileLeader, type Leadership } from '../../central/leader.js';
import { waitFor } from '../peers/net.js';

/** Every 'leader' and 'follower' a Leadership emits, in order. */
export function leadershipEvents(leader: Leadership): string[] {
  const events: string[] = [];
  leader.on('leader', () => events.push('leader'));
  leader.on('follower', () => events.push('follower'));
  return events;
}

/** A gate a test opens by hand, to hold singleton work in the middle of its start. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/**
 * What central's singleton work relies on from any Leadership (SoleLeader on SQLite, PgLeader on
 * PostgreSQL), for a replica that is alone: `open` gives a new, unstarted contender; the suite
 * stops every one it got.
 */
export function leadershipContract(open: () => Leadership): void {
  const contenders: Leadership[] = [];
  afterEach(async () => {
    for (const leader of contenders.splice(0)) await leader.stop();
  });
  const fresh = () => {
    const leader = open();
    contenders.push(leader);
    return { leader, events: leadershipEvents(leader) };
  };

  it('is not the leader before start; leads once start resolves, saying so once', async () => {
    const { leader, events } = fresh();
    expect(leader.isLeader()).toBe(false);
    await leader.start();
    expect(leader.isLeader()).toBe(true);
    expect(events).toEqual(['leader']);
  });

  it('steps down on stop, saying so once; a second stop says nothing', async () => {
    const { leader, events } = fresh();
    await leader.start();
    await leader.stop();
    expect(leader.isLeader()).toBe(false);
    await leader.stop();
    expect(events).toEqual(['leader', 'follower']);
  });

  it('a stop before any start says nothing; a start after a stop leads again', async () => {
    const { leader, events } = fresh();
    await leader.stop();
    expect(events).toEqual([]);
    await leader.start();
    await leader.stop();
    await leader.start();
    expect(leader.isLeader()).toBe(true);
    expect(events).toEqual(['leader', 'follower', 'leader']);
  });

  it('whileLeader: starts the work on leading, stops it on stepping down, again on the next lead', async () => {
    const { leader } = fresh();
    const work: string[] = [];
    const detach = whileLeader(leader, silentLogger(), () => void work.push('start'), () => void work.push('stop'));
    expect(work).toEqual([]);
    await leader.start();
    await waitFor(() => work.length === 1, 'the work to start on leading');
    await leader.stop();
    await waitFor(() => work.length === 2, 'the work to stop on stepping down');
    await leader.start();
    await waitFor(() => work.length === 3, 'the work to start again');
    await detach();
    expect(work).toEqual(['start', 'stop', 'start', 'stop']);
  });

  it('whileLeader: attached to a leader already leading, starts at once; detached, it stops and follows no more', async () => {
    const { leader } = fresh();
    await leader.start();
    const work: string[] = [];
    const detach = whileLeader(leader, silentLogger(), () => void work.push('start'), () => void work.push('stop'));
    await waitFor(() => work.length === 1, 'the work to start at once');
    // Detaching waits for the stop to finish.
    await detach();
    expect(work).toEqual(['start', 'stop']);
    await leader.stop();
    await leader.start();
    expect(work).toEqual(['start', 'stop']);
  });

  it('whileLeader: a stop waits for a start still running, and a failing start does not block the stop', async () => {
    const { leader } = fresh();
    const work: string[] = [];
    const starting = gate();
    const detach = whileLeader(
      leader,
      silentLogger(),
      async () => {
        work.push('start begins');
        await starting.wait;
        work.push('start ends');
        throw new Error('singleton work failed to start');
      },
      () => void work.push('stop'),
    );
    await leader.start();
    await waitFor(() => work.length === 1, 'the start to begin');
    await leader.stop();
    // Stepped down while the start is still running: the stop is queued behind it, not run beside it.
    expect(work).toEqual(['start begins']);
    starting.open();
    await waitFor(() => work.length === 3, 'the queued stop to run');
    expect(work).toEqual(['start begins', 'start ends', 'stop']);
    await detach();
  });
}
