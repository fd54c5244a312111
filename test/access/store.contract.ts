import { beforeEach, expect, it } from 'vitest';
import type { AccessStore } from '../../central/access/store.js';

/**
 * What every AccessStore does (after aedes' abstract-persistence): one suite, run against
 * SQLite and PostgreSQL. `fresh` gives an empty store for each test.
 */
export function accessStoreContract(fresh: () => Promise<AccessStore>): void {
  let store: AccessStore;
  beforeEach(async () => {
    store = await fresh();
  });

  const user = (name: string, role: 'viewer' | 'operator' | 'approver' | 'admin' = 'operator') => ({ name, role, passwordHash: `hash-of-${name}`, createdAt: 1000, passwordChangedAt: 1000 });

  it('adds users once by name, lists them in name order, and counts them', async () => {
    expect(await store.countUsers()).toBe(0);
    expect(await store.addUser(user('nino'))).toBe(true);
    expect(await store.addUser(user('anna', 'admin'))).toBe(true);
    expect(await store.addUser({ ...user('nino'), role: 'admin' })).toBe(false);
    expect((await store.listUsers()).map((u) => [u.name, u.role])).toEqual([['anna', 'admin'], ['nino', 'operator']]);
    expect(await store.countUsers()).toBe(2);
    expect(await store.getUser('nino')).toEqual(user('nino'));
    expect(await store.getUser('nobody')).toBeNull();
  });

  it("a new password or removing the user ends that user's sessions, and only theirs", async () => {
    await store.addUser(user('nino'));
    await store.addUser(user('giorgi'));
    await store.addSession({ id: 's1', username: 'nino', createdAt: 1, expiresAt: 10_000 });
    await store.addSession({ id: 's2', username: 'nino', createdAt: 1, expiresAt: 10_000 });
    await store.addSession({ id: 's3', username: 'giorgi', createdAt: 1, expiresAt: 10_000 });
    expect(await store.setPassword('nino', 'new-hash', 2000)).toBe(true);
    expect(await store.getUser('nino')).toMatchObject({ passwordHash: 'new-hash', passwordChangedAt: 2000 });
    expect(await store.getSession('s1')).toBeNull();
    expect(await store.getSession('s2')).toBeNull();
    expect(await store.getSession('s3')).toMatchObject({ username: 'giorgi' });
    expect(await store.removeUser('giorgi')).toBe(true);
    expect(await store.getSession('s3')).toBeNull();
    expect(await store.removeUser('giorgi')).toBe(false);
    expect(await store.setPassword('giorgi', 'x', 3000)).toBe(false);
  });

  it('keeps sessions until removed or expired', async () => {
    await store.addSession({ id: 'a', username: 'nino', createdAt: 1, expiresAt: 100 });
    await store.addSession({ id: 'b', username: 'nino', createdAt: 1, expiresAt: 200 });
    expect(await store.getSession('a')).toEqual({ id: 'a', username: 'nino', createdAt: 1, expiresAt: 100 });
    expect(await store.pruneSessions(150)).toBe(1);
    expect(await store.getSession('a')).toBeNull();
    await store.removeSession('b');
    expect(await store.getSession('b')).toBeNull();
  });

  it('adds tokens once by name, lists and revokes them', async () => {
    const token = { name: 'grafana', role: 'viewer' as const, hash: 'h', createdAt: 5 };
    expect(await store.addToken(token)).toBe(true);
    expect(await store.addToken({ ...token, role: 'admin' })).toBe(false);
    expect(await store.getToken('grafana')).toEqual(token);
    expect((await store.listTokens()).map((t) => t.name)).toEqual(['grafana']);
    expect(await store.revokeToken('grafana')).toBe(true);
    expect(await store.revokeToken('grafana')).toBe(false);
    expect(await store.getToken('grafana')).toBeNull();
  });
}
