import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, withTimeout } from '../lib/timeout.js';
import { OrderStore } from '../agent/store.js';
import { MosquittoPeer } from '../test/peers/mosquitto.js';
import { waitFor } from '../test/peers/net.js';
import { PostgresCluster, adminQuery } from '../test/peers/postgres.js';
import { TcpProxy, type CutMode } from '../test/peers/tcp-proxy.js';
import { CAN_MOUNT_TMPFS, SmallDisk } from '../test/peers/tmpfs.js';
import { httpJson, startHotpot, tempDir, type HotpotProcess } from '../test/helpers/hotpot.js';
import { sampleOrder } from '../test/helpers/inproc.js';
import { centralOrderIds, pointEnv, replicaEnv, replicaHealth, type OrderStatsBody } from '../test/helpers/replicas.js';
import { percentile } from './report.js';

/**
 * `npm run chaos`: a fault campaign on real processes. 3 agents take orders over HTTP all along;
 * 2 central replicas share one Mosquitto (through `$share/central`) and one PostgreSQL; faults are
 * kill -9 of agents and replicas, broker kill -9, link cuts between agents and the broker (a TCP
 * proxy per agent), PostgreSQL crashes and (as root) a full data disk under one box (a tmpfs filled
 * for a while: its orders answer 507 until space returns, the staff press save again). Then everything is healed and the books are checked:
 * every order a box confirmed is at central exactly once and no box has anything unsynced.
 */

const POINTS = ['tbilisi-01', 'batumi-01', 'kutaisi-01'];
const REPLICAS = ['replica-a', 'replica-b'];
const MIN_FAULTS = Number(process.env.CHAOS_MIN_FAULTS ?? 200);
const FAULT_PHASE_MS = Number(process.env.CHAOS_SECONDS ?? 180) * 1000;
const FAULT_EVERY_MS = 700;
const BROKER_RESTART_EVERY_MS = 20_000;
const POSTGRES_RESTARTS = 3;
const ORDER_PAUSE_MS = 60;
const CONVERGE_TIMEOUT_MS = 180_000;
/** Every this many orders a box voids the one just entered. */
const VOID_EVERY = 5;
const TAKEOVER_TARGET_MS = 10_000;
/** The box whose data dir is a small tmpfs the campaign fills (as root). */
const DISK_POINT = POINTS[2]!;
const DISK_FULL_EVERY_MS = 15_000;

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

function say(text: string): void {
  process.stderr.write(`chaos ${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

interface Crash {
  name: string;
  code: number | null;
  stderr: string;
}

/** A child process the campaign kills and starts again, with the same env (the same box, the same replica). */
class Restartable {
  proc: HotpotProcess | undefined;
  starts = 0;

  constructor(
    readonly name: string,
    private readonly command: 'agent' | 'central',
    private readonly env: Record<string, string>,
    /** The process died without being killed: a bug the campaign found. */
    private readonly onCrash: (slot: Restartable, crash: Crash) => void,
  ) {}

  get up(): boolean {
    return this.proc !== undefined;
  }

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.proc = await startHotpot(this.command, this.env, 40_000);
        this.starts++;
        this.watch(this.proc);
        return;
      } catch (error) {
        if (attempt >= 5) throw new Error(`${this.name} would not start: ${(error as Error).message}`);
        say(`${this.name} start attempt ${attempt} failed (${(error as Error).message.slice(0, 200)}); again`);
        await sleep(1000);
      }
    }
  }

  private watch(proc: HotpotProcess): void {
    let stderr = '';
    proc.proc.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    void proc.exited
      .then((code) => {
        if (this.proc !== proc) return;
        this.proc = undefined;
        this.onCrash(this, { name: this.name, code, stderr });
      })
      .catch(() => undefined);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    await proc?.kill(signal);
  }
}

interface Entered {
  pointId: string;
  clientRef: string;
  id: string;
  status: 200 | 201;
}

class Campaign {
  readonly dir = tempDir('chaos');
  readonly broker = new MosquittoPeer({ persistence: true });
  readonly postgres = new PostgresCluster();
  readonly proxies: TcpProxy[] = [];
  readonly agents: Restartable[] = [];
  readonly replicas: Restartable[] = [];
  readonly faults: Record<string, number> = {};
  readonly takeoversMs: number[] = [];
  readonly entered: Entered[] = [];
  readonly voided: { pointId: string; orderId: string; voidId: string }[] = [];
  readonly recoveries = new Set<Promise<void>>();
  readonly crashes: Crash[] = [];
  postFailures = 0;
  /** Orders the box refused with 507 while its disk was full (saved again with the same clientRef once it had space). */
  diskFullRefusals = 0;
  readonly disk = CAN_MOUNT_TMPFS ? new SmallDisk(join(this.dir, DISK_POINT), '64m') : undefined;
  diskFull = false;
  /** Shared peers down right now: one at a time, and no leader takeover is timed while PostgreSQL is down. */
  readonly down = new Set<'broker' | 'postgres'>();
  measuringTakeover = false;
  stopEntering = false;
  databaseUrl = '';

  get faultCount(): number {
    return Object.values(this.faults).reduce((sum, n) => sum + n, 0);
  }

  async setUp(): Promise<void> {
    say(`working in ${this.dir}`);
    await this.postgres.init();
    await this.postgres.start();
    await adminQuery('CREATE DATABASE hotpot_chaos', this.postgres.url('postgres'));
    this.databaseUrl = this.postgres.url('hotpot_chaos');
    say(`throwaway PostgreSQL cluster on port ${this.postgres.port} (pid ${this.postgres.pid})`);
    await this.broker.start();
    say(`mosquitto on port ${this.broker.port}`);
    if (this.disk) {
      await this.disk.mount();
      say(`${DISK_POINT}'s data dir is a 64 MiB tmpfs the campaign fills`);
    } else {
      say('NOT ROOT: no disk-full faults (mounting a tmpfs needs root)');
    }
    const crashed = (slot: Restartable, crash: Crash) => this.crashed(slot, crash);
    for (const name of REPLICAS) this.replicas.push(new Restartable(name, 'central', replicaEnv(name, this.dir, this.broker.url, this.databaseUrl), crashed));
    for (const pointId of POINTS) {
      const proxy = await new TcpProxy({ host: '127.0.0.1', port: this.broker.port }).start();
      this.proxies.push(proxy);
      this.agents.push(new Restartable(pointId, 'agent', pointEnv(pointId, this.dir, proxy.url), crashed));
    }
    await Promise.all([...this.replicas, ...this.agents].map((slot) => slot.start()));
    say(`${REPLICAS.length} replicas and ${POINTS.length} agents running`);
  }

  /**
   * Staff entering orders on one box, pressing "save" again (same clientRef) until the box confirms;
   * every VOID_EVERY-th order is voided right after, pressed again the same way until confirmed.
   */
  async enterOrders(index: number): Promise<void> {
    const slot = this.agents[index]!;
    for (let n = 1; !this.stopEntering; n++) {
      const clientRef = `${slot.name}-${n}`;
      const order = await this.postUntilConfirmed(slot, '/api/orders', { ...sampleOrder(n), clientRef }, clientRef);
      this.entered.push({ pointId: slot.name, clientRef, id: order.id, status: order.status });
      if (n % VOID_EVERY === 0) {
        const voided = await this.postUntilConfirmed(slot, `/api/orders/${order.id}/void`, { reason: 'chaos: rang twice' }, `void of ${clientRef}`);
        this.voided.push({ pointId: slot.name, orderId: order.id, voidId: voided.id });
      }
      await sleep(ORDER_PAUSE_MS);
    }
  }

  /** POSTs until the box answers 201 or 200 (a retry it recognises), through restarts and faults. */
  private async postUntilConfirmed(slot: Restartable, path: string, body: unknown, what: string): Promise<{ id: string; status: 200 | 201 }> {
    for (;;) {
      const port = slot.proc?.httpPort;
      if (port === undefined) {
        await sleep(100);
        continue;
      }
      try {
        const res = await httpJson<{ id: string }>(port, 'POST', path, body);
        if (res.status === 201 || res.status === 200) return { id: res.body.id, status: res.status };
        if (res.status === 507) {
          // The page keeps the cart: the staff write it on paper and save again once there is space.
          this.diskFullRefusals++;
          await sleep(100);
          continue;
        }
        throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
      } catch (error) {
        this.postFailures++;
        if (!/ECONNREFUSED|ECONNRESET|socket hang up|timed out/.test((error as Error).message)) say(`${what}: ${(error as Error).message}`);
        await sleep(100);
      }
    }
  }

  /** Restarted as systemd would, and reported: no process should die of a fault that hit something else. */
  private crashed(slot: Restartable, crash: Crash): void {
    this.crashes.push(crash);
    say(`${slot.name} CRASHED by itself (exit ${crash.code}): ${crash.stderr.trim().split('\n').slice(-6).join(' | ')}`);
    this.heal(`${slot.name} crashing`, () => slot.start());
  }

  private count(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  /** Runs a fault's healing in the background; the final phase waits for all of them. */
  private heal(what: string, work: () => Promise<void>): void {
    const task = work()
      .catch((error: unknown) => say(`healing after ${what} failed: ${(error as Error).message}`))
      .finally(() => this.recoveries.delete(task));
    this.recoveries.add(task);
  }

  /** At most all links but one cut at once, so some box is syncing while faults land. */
  private cutLink(): boolean {
    const intact = this.proxies.filter((proxy) => !proxy.isCut);
    if (intact.length <= 1) return false;
    const proxy = pick(intact);
    const mode: CutMode = Math.random() < 0.5 ? 'reset' : 'blackhole';
    proxy.cut(mode);
    this.count(`link cut (${mode})`);
    this.heal('a link cut', async () => {
      await sleep(random(300, 3000));
      proxy.restore();
    });
    return true;
  }

  /** The small disk under one box filled to ENOSPC for a while, then freed. */
  private fillDisk(): void {
    const disk = this.disk!;
    this.diskFull = true;
    this.count('data disk full');
    this.heal('a full disk', async () => {
      try {
        disk.fill();
        say(`${DISK_POINT}'s data disk full`);
        await sleep(random(2000, 6000));
      } finally {
        disk.free();
        this.diskFull = false;
      }
    });
  }

  /** One box down at a time: the others keep taking orders (and a box on a full disk is not restarted). */
  private killAgent(): boolean {
    const running = this.agents.filter((agent) => agent.up && !(this.diskFull && agent.name === DISK_POINT));
    if (running.length < this.agents.length) return false;
    const slot = pick(running);
    this.count('agent kill -9');
    this.heal(`killing ${slot.name}`, async () => {
      await slot.kill();
      await sleep(random(200, 2500));
      await slot.start();
    });
    return true;
  }

  /** One replica down at a time; a leader's death is timed until the other one leads. */
  private killReplica(): boolean {
    if (this.down.has('postgres') || this.measuringTakeover || this.replicas.some((replica) => !replica.up)) return false;
    const victim = pick(this.replicas);
    const survivor = this.replicas.find((replica) => replica !== victim)!;
    this.count('replica kill -9');
    this.measuringTakeover = true;
    this.heal(`killing ${victim.name}`, async () => {
      try {
        const wasLeader = (await replicaHealth(victim.proc!))?.leader === true;
        await victim.kill();
        if (wasLeader) {
          const killedAt = Date.now();
          await waitFor(async () => (survivor.proc ? (await replicaHealth(survivor.proc))?.leader === true : false), `${survivor.name} to take the lead`, 60_000, 100);
          const ms = Date.now() - killedAt;
          this.takeoversMs.push(ms);
          say(`leader ${victim.name} killed: ${survivor.name} leads after ${ms} ms`);
        }
      } finally {
        this.measuringTakeover = false;
      }
      await sleep(random(500, 3000));
      await victim.start();
    });
    return true;
  }

  /** A shared peer (the broker, PostgreSQL) crashed and brought back after a pause. */
  private outage(peer: 'broker' | 'postgres', kind: string, crash: () => Promise<void>, start: () => Promise<void>): void {
    this.down.add(peer);
    this.count(kind);
    this.heal(kind, async () => {
      try {
        await crash();
        say(`${peer} down (${kind})`);
        await sleep(random(500, 4000));
        await start();
        say(`${peer} back`);
      } finally {
        this.down.delete(peer);
      }
    });
  }

  async injectFaults(): Promise<number> {
    const started = Date.now();
    const postgresAt = Array.from({ length: POSTGRES_RESTARTS }, (_, i) => ((i + 1) * FAULT_PHASE_MS) / (POSTGRES_RESTARTS + 1));
    let nextBroker = BROKER_RESTART_EVERY_MS / 2;
    let nextDiskFull = DISK_FULL_EVERY_MS / 3;
    let lastReport = 0;
    for (;;) {
      const elapsed = Date.now() - started;
      if (elapsed >= FAULT_PHASE_MS && this.faultCount >= MIN_FAULTS) break;
      if (elapsed >= FAULT_PHASE_MS * 2) throw new Error(`only ${this.faultCount} faults in ${elapsed} ms`);
      const quiet = this.down.size === 0;
      if (quiet && postgresAt.length && elapsed >= postgresAt[0]! && !this.measuringTakeover && this.replicas.every((r) => r.up)) {
        postgresAt.shift();
        this.outage('postgres', 'postgresql crash and restart', () => this.postgres.crash(), async () => void (await this.postgres.start()));
      } else if (this.disk && !this.diskFull && elapsed >= nextDiskFull && this.agents.every((agent) => agent.up)) {
        nextDiskFull += DISK_FULL_EVERY_MS;
        this.fillDisk();
      } else if (quiet && elapsed >= nextBroker) {
        nextBroker += BROKER_RESTART_EVERY_MS;
        this.outage('broker', 'broker kill -9 and restart', () => this.broker.kill(), async () => void (await this.broker.start()));
      } else {
        const roll = Math.random();
        const injected = roll < 0.6 ? this.cutLink() : roll < 0.85 ? this.killAgent() : this.killReplica();
        if (!injected && !this.cutLink()) this.killAgent();
      }
      if (elapsed - lastReport >= 10_000) {
        lastReport = elapsed;
        await this.progress(elapsed);
      }
      await sleep(FAULT_EVERY_MS);
    }
    return Date.now() - started;
  }

  private async progress(elapsed: number): Promise<void> {
    const replica = this.replicas.find((r) => r.up);
    const stats = replica
      ? await httpJson<OrderStatsBody>(replica.proc!.httpPort, 'GET', '/api/orders/stats').then(
          (res) => (res.status === 200 ? String(res.body.total) : `HTTP ${res.status}`),
          () => '?',
        )
      : '?';
    const up = (slots: Restartable[]) => slots.map((s) => (s.up ? '+' : '-')).join('');
    say(
      `${Math.round(elapsed / 1000)} s: ${this.faultCount} faults, ${this.entered.length} orders confirmed by boxes, ${stats} at central; ` +
        `agents ${up(this.agents)} replicas ${up(this.replicas)} links ${this.proxies.map((p) => (p.isCut ? 'x' : '=')).join('')}` +
        [...this.down].map((peer) => ` ${peer} DOWN`).join(''),
    );
  }

  /** Everything back: recoveries done, links restored, every process running. */
  async healAll(): Promise<void> {
    while (this.recoveries.size) await withTimeout(Promise.all([...this.recoveries]), 120_000, 'the last faults to heal');
    for (const proxy of this.proxies) proxy.restore();
    for (const slot of [...this.replicas, ...this.agents]) if (!slot.up) await slot.start();
  }

  async unsynced(): Promise<number[]> {
    return Promise.all(
      this.agents.map(async (agent) => {
        const res = await httpJson<{ unsynced: number }>(agent.proc!.httpPort, 'GET', '/api/health').catch(() => null);
        return res?.status === 200 ? res.body.unsynced : -1;
      }),
    );
  }

  async tearDown(): Promise<void> {
    for (const slot of [...this.agents, ...this.replicas]) await slot.kill('SIGTERM').catch(() => slot.kill());
    for (const proxy of this.proxies) await proxy.stop();
    await this.broker.stop().catch(() => undefined);
    await this.postgres.destroy().catch(() => undefined);
    await this.disk?.unmount().catch((error: unknown) => say(`could not unmount ${this.disk!.dir}: ${(error as Error).message}`));
  }
}

interface Verdict {
  confirmedByBoxes: number;
  confirmedAsRetry: number;
  onBoxes: number;
  atCentral: number;
  centralStatsTotal: number;
  missingAtCentral: number;
  notOnAnyBox: number;
  duplicateIds: number;
  duplicateNumbers: number;
  duplicateClientRefs: number;
  unsyncedOnBoxes: Record<string, number>;
  voids: { confirmedByBoxes: number; atCentral: number; centralStatsVoids: number; missingAtCentral: number; notConfirmed: number; duplicates: number };
}

async function verify(campaign: Campaign): Promise<Verdict> {
  const replica = campaign.replicas[0]!.proc!;
  const centralIds = await centralOrderIds(replica.httpPort);
  const stats = (await httpJson<OrderStatsBody>(replica.httpPort, 'GET', '/api/orders/stats')).body;
  const rows = await adminQuery(
    "SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, count(DISTINCT number)::int AS numbers, count(DISTINCT (point_id, record->>'clientRef'))::int AS refs FROM orders",
    campaign.databaseUrl,
  );
  const db = rows.rows[0] as { n: number; ids: number; numbers: number; refs: number };
  const voidRows = await adminQuery('SELECT v.id::text AS id, v.order_id::text AS order_id FROM voids v JOIN orders o ON o.id = v.order_id AND o.point_id = v.point_id', campaign.databaseUrl);
  const centralVoids = voidRows.rows as { id: string; order_id: string }[];
  const voidedAtCentral = new Set(centralVoids.map((row) => row.order_id));
  const voidedOnBoxes = new Set(campaign.voided.map((v) => v.orderId));
  for (const agent of campaign.agents) await agent.kill('SIGTERM');
  const boxIds = new Set<string>();
  const unsyncedOnBoxes: Record<string, number> = {};
  for (const pointId of POINTS) {
    const store = new OrderStore(join(campaign.dir, pointId, 'agent.db'), pointId);
    try {
      for (const stored of store.list('all', { limit: 10_000_000 })) boxIds.add(stored.order.id);
      unsyncedOnBoxes[pointId] = store.unsyncedStats().count;
    } finally {
      store.close();
    }
  }
  const atCentral = new Set(centralIds);
  return {
    confirmedByBoxes: campaign.entered.length,
    confirmedAsRetry: campaign.entered.filter((e) => e.status === 200).length,
    onBoxes: boxIds.size,
    atCentral: centralIds.length,
    centralStatsTotal: stats.total,
    missingAtCentral: campaign.entered.filter((e) => !atCentral.has(e.id)).length + [...boxIds].filter((id) => !atCentral.has(id)).length,
    notOnAnyBox: centralIds.filter((id) => !boxIds.has(id)).length,
    duplicateIds: centralIds.length - atCentral.size + (db.n - db.ids),
    duplicateNumbers: db.n - db.numbers,
    duplicateClientRefs: db.n - db.refs,
    unsyncedOnBoxes,
    voids: {
      confirmedByBoxes: campaign.voided.length,
      atCentral: centralVoids.length,
      centralStatsVoids: stats.voids ?? 0,
      missingAtCentral: campaign.voided.filter((v) => !voidedAtCentral.has(v.orderId)).length,
      notConfirmed: centralVoids.filter((row) => !voidedOnBoxes.has(row.order_id)).length,
      duplicates: centralVoids.length - voidedAtCentral.size + (campaign.voided.length - voidedOnBoxes.size),
    },
  };
}

async function main(): Promise<void> {
  const campaign = new Campaign();
  const startedAt = new Date();
  let exitCode = 1;
  try {
    await campaign.setUp();
    const entering = POINTS.map((_, i) => campaign.enterOrders(i));
    say(`injecting at least ${MIN_FAULTS} faults over at least ${FAULT_PHASE_MS / 1000} s`);
    const faultPhaseMs = await campaign.injectFaults();
    say(`${campaign.faultCount} faults injected; healing everything and stopping order entry`);
    await campaign.healAll();
    campaign.stopEntering = true;
    await withTimeout(Promise.all(entering), 60_000, 'the last orders being entered to be confirmed');
    const healedAt = Date.now();
    await waitFor(async () => (await campaign.unsynced()).every((n) => n === 0), 'every box to have 0 unsynced orders', CONVERGE_TIMEOUT_MS, 500);
    const convergeMs = Date.now() - healedAt;
    say(`every box synced ${Math.round(convergeMs / 1000)} s after the last fault healed; checking the books`);
    const verdict = await verify(campaign);
    const takeovers = [...campaign.takeoversMs].sort((a, b) => a - b);
    const kinds = ['agent kill -9', 'replica kill -9', 'broker kill -9 and restart', 'link cut (reset)', 'link cut (blackhole)', 'postgresql crash and restart', ...(campaign.disk ? ['data disk full'] : [])];
    const missingKinds = kinds.filter((kind) => !campaign.faults[kind]);
    const ok =
      campaign.faultCount >= MIN_FAULTS &&
      missingKinds.length === 0 &&
      verdict.missingAtCentral === 0 &&
      verdict.notOnAnyBox === 0 &&
      verdict.duplicateIds === 0 &&
      verdict.duplicateNumbers === 0 &&
      verdict.duplicateClientRefs === 0 &&
      verdict.atCentral === verdict.onBoxes &&
      verdict.centralStatsTotal === verdict.atCentral &&
      verdict.voids.missingAtCentral === 0 &&
      verdict.voids.notConfirmed === 0 &&
      verdict.voids.duplicates === 0 &&
      verdict.voids.centralStatsVoids === verdict.voids.confirmedByBoxes &&
      campaign.crashes.length === 0 &&
      Object.values(verdict.unsyncedOnBoxes).every((n) => n === 0);
    const takeoverOk = takeovers.every((ms) => ms <= TAKEOVER_TARGET_MS);
    const report = {
      at: startedAt.toISOString(),
      result: ok ? 'PASS' : 'FAIL',
      faults: { total: campaign.faultCount, byKind: campaign.faults, kindsNeverInjected: missingKinds },
      faultPhaseSec: Math.round(faultPhaseMs / 1000),
      convergeSec: Math.round(convergeMs / 100) / 10,
      orders: verdict,
      postFailuresWhileFaulted: campaign.postFailures,
      diskFullRefusals: campaign.diskFullRefusals,
      crashes: campaign.crashes,
      restarts: Object.fromEntries([...campaign.agents, ...campaign.replicas].map((slot) => [slot.name, slot.starts - 1])),
      leaderTakeover: {
        count: takeovers.length,
        p50Ms: percentile(takeovers, 50),
        maxMs: takeovers[takeovers.length - 1] ?? null,
        target: `≤ ${TAKEOVER_TARGET_MS} ms`,
        pass: takeoverOk,
        samplesMs: takeovers,
      },
    };
    writeFileSync('bench/chaos.json', `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      [
        '',
        `faults injected: ${campaign.faultCount} (${Object.entries(campaign.faults).map(([kind, n]) => `${n} ${kind}`).join(', ')})`,
        `orders confirmed by the boxes: ${verdict.confirmedByBoxes}; on the boxes: ${verdict.onBoxes}; at central: ${verdict.atCentral}`,
        `missing at central: ${verdict.missingAtCentral}; at central but on no box: ${verdict.notOnAnyBox}; duplicates: ${verdict.duplicateIds} ids, ${verdict.duplicateNumbers} numbers, ${verdict.duplicateClientRefs} clientRefs`,
        `voids confirmed by the boxes: ${verdict.voids.confirmedByBoxes}; at central: ${verdict.voids.atCentral} (stats ${verdict.voids.centralStatsVoids}); missing: ${verdict.voids.missingAtCentral}; unconfirmed: ${verdict.voids.notConfirmed}; duplicates: ${verdict.voids.duplicates}`,
        `unsynced on the boxes: ${JSON.stringify(verdict.unsyncedOnBoxes)}; all synced ${report.convergeSec} s after healing`,
        `orders refused with 507 while ${DISK_POINT}'s disk was full (saved again once freed): ${campaign.diskFullRefusals}${campaign.disk ? '' : ' (no disk-full faults: not root)'}`,
        `processes that crashed by themselves: ${campaign.crashes.length}${campaign.crashes.length ? ` (${campaign.crashes.map((c) => c.name).join(', ')})` : ''}`,
        `leader takeovers: ${takeovers.length}, p50 ${report.leaderTakeover.p50Ms} ms, max ${report.leaderTakeover.maxMs} ms (target ≤ ${TAKEOVER_TARGET_MS} ms: ${takeoverOk ? 'ok' : 'MISS'})`,
        `result: ${report.result}`,
        'wrote bench/chaos.json',
        '',
      ].join('\n'),
    );
    exitCode = ok && takeoverOk ? 0 : 1;
  } finally {
    await campaign.tearDown();
  }
  process.exitCode = exitCode;
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
