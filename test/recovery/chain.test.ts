import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoveryConfigSchema } from '../../central/recovery/config.js';
import { RecoveryEngine } from '../../central/recovery/engine.js';
import { waitFor } from '../peers/net.js';
import { chainPeers, peerScript, type ChainNodePeer } from '../peers/recovery-peers.js';
import { waitForProcedure } from './engine-helpers.js';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { centralTables } from '../helpers/central-db.js';

const BLOCK_MS = 250;

function chainProcedure(nodes: ChainNodePeer[], convergeMs: number) {
  return {
    probe: { every: '400ms', failAfter: 3, checks: [{ type: 'chain' }] },
    chain: {
      nodes: nodes.map((n) => ({ name: n.name.replace('chain-', ''), url: n.url, restart: { argv: n.restartArgv(), timeoutMs: 20_000 } })),
      // the peer nests its answers: the paths are configuration, not assumptions
      heightPath: 'chain.height',
      hashPath: 'chain.lastBlockHash',
      blockPath: '/api/blockchain/block/:height',
      blockHashPath: 'block.hash',
      stallProbes: 3,
      maxLag: 3,
      restartOrder: ['c', 'a', 'b'],
    },
    stages: [
      { name: 'immediate', steps: [{ type: 'chain-restart', id: 'restart-nodes', nodeTimeoutMs: 20_000 }, { type: 'wait', id: 'converge', timeoutMs: convergeMs, intervalMs: 400 }] },
      {
        name: 'data-recovery',
        steps: [
          { type: 'chain-restore', id: 'restore-chain', argv: [process.execPath, peerScript('chain-node.mjs'), 'restore', '--url', '{url}', '--height', '{height}'], timeoutMs: 20_000 },
          { type: 'wait', id: 'converge-after-restore', timeoutMs: 30_000, intervalMs: 400 },
        ],
      },
    ],
  };
}

const post = async (url: string, body: unknown = {}) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  return (await response.json()) as Record<string, unknown>;
};
const getJson = async (url: string) => (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, Record<string, unknown>>;

describe('blockchain runbook (three real chain-node processes)', () => {
  let dir: string;
  let db: Database.Database;
  let incidents: MemoryIncidents;
  let engine: RecoveryEngine | undefined;
  let nodes: ChainNodePeer[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotpot-chain-'));
    db = centralTables(join(dir, 'central.db'));
    incidents = new MemoryIncidents();
    nodes = await chainPeers(dir, ['a', 'b', 'c'], { blockMs: BLOCK_MS, blocksAgo: 40 });
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    for (const node of nodes) await node.kill();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds a stalled node and a forked node, restarts them in the configured order, and they converge', async () => {
    await Promise.all(nodes.map((n) => n.start()));
    engine = new RecoveryEngine({ config: recoveryConfigSchema.parse({ procedures: { chain: chainProcedure(nodes, 30_000) } }), db, incidents });
    engine.start();
    await waitFor(() => engine!.health('chain') === 'up', 'the chain to be seen healthy', 20_000);
    const [a, b, c] = nodes as [ChainNodePeer, ChainNodePeer, ChainNodePeer];
    const pids = nodes.map((n) => n.pid());

    const { stalledAt } = (await post(`${b.url}/admin/stall`)) as { stalledAt: number };
    await post(`${c.url}/admin/fork`, { fromHeight: stalledAt - 2 }); // rewrites blocks b still has
    await waitForProcedure(engine, 'chain', (p) => p.lastRun?.status === 'resolved', 'the chain run to resolve');

    const run = engine.runs()[0]!;
    const restart = run.steps.find((s) => s.phase === 'act' && s.stepId === 'restart-nodes')!;
    expect(restart.ok).toBe(true);
    expect(restart.detail).toMatch(/^restarted c, b in order/);
    expect(run.reason).toMatch(/b h=\d+ stalled\+lagging/);
    expect(run.reason).toMatch(/c h=\d+ forked/);
    expect(run.steps.find((s) => s.stepId === 'converge' && s.phase === 'wait')).toMatchObject({ ok: true });
    expect(a.pid()).toBe(pids[0]); // the healthy node was left alone
    expect(b.pid()).not.toBe(pids[1]);
    expect(c.pid()).not.toBe(pids[2]);

    const tips = await Promise.all(nodes.map((n) => getJson(`${n.url}/api/blockchain/status`)));
    const low = Math.min(...tips.map((t) => t.chain!.height as number));
    const hashes = await Promise.all(nodes.map(async (n) => (await getJson(`${n.url}/api/blockchain/block/${low}`)).block!.hash));
    expect(new Set(hashes).size).toBe(1);
    expect(incidents.open.has('runbook:chain')).toBe(false);
  });

  it('with consensus lost, finds the last common block and restores from it after approval', async () => {
    const [a, b, c] = nodes as [ChainNodePeer, ChainNodePeer, ChainNodePeer];
    // forks kept "on disk": a restart does not cure them
    writeFileSync(b.stateFile, JSON.stringify({ fork: { fromHeight: 20, seed: 'branch-b' } }));
    writeFileSync(c.stateFile, JSON.stringify({ fork: { fromHeight: 25, seed: 'branch-c' } }));
    await Promise.all(nodes.map((n) => n.start()));
    engine = new RecoveryEngine({ config: recoveryConfigSchema.parse({ procedures: { chain: chainProcedure(nodes, 4000) } }), db, incidents }); // restarts cannot cure forks kept on disk
    engine.start();

    await waitForProcedure(engine, 'chain', (p) => p.run?.status === 'awaiting-approval', 'the restore proposal');
    const summary = engine.procedures()[0]!;
    expect(summary.run).toMatchObject({ stage: 'data-recovery', step: 'restore-chain' });
    const honest19 = (await getJson(`${a.url}/api/blockchain/block/19`)).block!.hash as string;
    expect(summary.run!.awaiting).toMatchObject({ id: 'restore-chain' });
    expect(summary.run!.awaiting!.text).toContain(`the last block every live node agrees on is 19 (hash ${honest19})`);
    const prepared = engine.runs()[0]!.steps.find((s) => s.phase === 'prepare')!;
    expect(prepared).toMatchObject({ ok: true, detail: expect.stringContaining('is 19') });
    expect(engine.runs()[0]!.reason).toContain('quorum lost');

    engine.approve(summary.run!.id, 'restore-chain', 'nino@ops');
    await waitForProcedure(engine, 'chain', (p) => p.lastRun?.status === 'resolved', 'the chain to converge after the restore');
    const run = engine.runs()[0]!;
    const restore = run.steps.find((s) => s.phase === 'act' && s.stepId === 'restore-chain')!;
    expect(restore).toMatchObject({ ok: true, by: 'nino@ops (approved)' });
    expect(restore.detail).toMatch(/^restored from block 19: c: .*; a: .*; b: /);
    expect(run.steps.some((s) => s.phase === 'approval' && s.by === 'nino@ops')).toBe(true);
    const heights = await Promise.all([b, c].map(async (n) => (await getJson(`${n.url}/api/blockchain/block/30`)).block!.hash));
    expect(heights).toEqual([(await getJson(`${a.url}/api/blockchain/block/30`)).block!.hash, (await getJson(`${a.url}/api/blockchain/block/30`)).block!.hash]);
  });
});
