import { httpRequest } from '../../lib/http-client.js';
import { sleep } from '../../lib/timeout.js';
import { analyzeChain, lastCommonHeight, nextHistory, pairKey, type ChainAnalysis, type ChainHistory, type NodeObservation } from './chain.js';
import type { ChainConfig } from './config.js';
import { getJson, type ProbeOutcome } from './executors.js';
import { readJsonPath } from './json-path.js';

type ChainNode = ChainConfig['nodes'][number];

export interface CommonBlock {
  height: number;
  hash: string;
}

/** Polls a procedure's chain nodes and keeps the per-node history that stall detection needs. */
export class ChainMonitor {
  private history: ChainHistory = {};
  private latest: ChainAnalysis | null = null;
  readonly order: string[];

  constructor(
    private readonly config: ChainConfig,
    private readonly probeEveryMs: number,
  ) {
    const listed = config.nodes.map((n) => n.name);
    this.order = [...(config.restartOrder ?? []), ...listed.filter((name) => !config.restartOrder?.includes(name))];
  }

  get lastAnalysis(): ChainAnalysis | null {
    return this.latest;
  }

  node(name: string): ChainNode {
    const node = this.config.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no chain node named ${name}`);
    return node;
  }

  /** A restarted node starts a fresh history (its old height says nothing about the new process). */
  forget(name: string): void {
    delete this.history[name];
  }

  async probe(): Promise<ProbeOutcome & { analysis: ChainAnalysis }> {
    const observations = await Promise.all(this.config.nodes.map((node) => this.observe(node)));
    const agree = await this.pairAgreement(observations);
    const now = Date.now();
    this.history = nextHistory(this.history, observations, now);
    const rules = { stallProbes: this.config.stallProbes, probeEveryMs: this.probeEveryMs, maxLag: this.config.maxLag, order: this.order };
    const analysis = analyzeChain(observations, agree, this.history, rules, now);
    this.latest = analysis;
    return { ok: analysis.ok, detail: `chain: ${analysis.summary}`, analysis };
  }

  /** Polls a node's status endpoint until it answers 200. */
  async waitForNode(name: string, timeoutMs: number): Promise<void> {
    const node = this.node(name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const up = await httpRequest({ url: this.url(node, this.config.statusPath), timeoutMs: this.config.timeoutMs, redirects: 'follow' }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) return;
      await sleep(250);
    }
    throw new Error(`chain node ${name} did not answer ${this.config.statusPath} within ${timeoutMs} ms after its restart`);
  }

  /** The last block every live node agrees on (null when they share none or none is up). */
  async lastCommonBlock(): Promise<CommonBlock | null> {
    const observations = await Promise.all(this.config.nodes.map((node) => this.observe(node)));
    const live = observations.filter((o) => o.up && o.height !== undefined);
    if (live.length === 0) return null;
    const top = Math.min(...live.map((o) => o.height!));
    const hashes = new Map<number, string[]>();
    const hashesAt = async (height: number) => {
      let found = hashes.get(height);
      if (!found) {
        found = await Promise.all(live.map((o) => this.blockHash(this.node(o.name), height)));
        hashes.set(height, found);
      }
      return found;
    };
    const height = await lastCommonHeight(top, async (h) => new Set(await hashesAt(h)).size === 1);
    return height < 0 ? null : { height, hash: (await hashesAt(height))[0]! };
  }

  private async observe(node: ChainNode): Promise<NodeObservation> {
    try {
      const status = await httpRequest({ url: this.url(node, this.config.statusPath), timeoutMs: this.config.timeoutMs, redirects: 'follow' });
      if (status.status !== 200) return { name: node.name, up: false, error: `${this.config.statusPath} answered ${status.status}` };
      const chain = await getJson(this.url(node, this.config.chainStatusPath), this.config.timeoutMs);
      const height = readJsonPath(chain, this.config.heightPath);
      const hash = readJsonPath(chain, this.config.hashPath);
      if (typeof height !== 'number' || !Number.isInteger(height) || typeof hash !== 'string') {
        return { name: node.name, up: false, error: `${this.config.chainStatusPath} has no integer ${this.config.heightPath} and string ${this.config.hashPath}` };
      }
      return { name: node.name, up: true, height, hash };
    } catch (error) {
      return { name: node.name, up: false, error: (error as Error).message };
    }
  }

  /** For each pair of live nodes: do they have the same block at the lower of their heights? */
  private async pairAgreement(observations: NodeObservation[]): Promise<Map<string, boolean>> {
    const live = observations.filter((o) => o.up && o.height !== undefined);
    const agree = new Map<string, boolean>();
    const hashAt = async (o: NodeObservation, height: number) => (o.height === height ? o.hash! : this.blockHash(this.node(o.name), height));
    await Promise.all(
      live.flatMap((a, i) =>
        live.slice(i + 1).map(async (b) => {
          const height = Math.min(a.height!, b.height!);
          try {
            const [ha, hb] = await Promise.all([hashAt(a, height), hashAt(b, height)]);
            agree.set(pairKey(a.name, b.name), ha === hb);
          } catch {
            agree.set(pairKey(a.name, b.name), false);
          }
        }),
      ),
    );
    return agree;
  }

  private async blockHash(node: ChainNode, height: number): Promise<string> {
    const url = this.url(node, this.config.blockPath.replace(':height', String(height)));
    const hash = readJsonPath(await getJson(url, this.config.timeoutMs), this.config.blockHashPath);
    if (typeof hash !== 'string') throw new Error(`${url} has no string ${this.config.blockHashPath}`);
    return hash;
  }

  private url(node: ChainNode, path: string): string {
    return new URL(path, node.url).toString();
  }
}
