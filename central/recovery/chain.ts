/**
 * Pure blockchain analysis: from what each node reported (and which pairs of nodes agree on the
 * block at the lower of their two heights) decide who is down, stalled, lagging or forked and
 * whether 2/3 of the nodes still agree. No I/O: the chain monitor gathers the observations.
 */

export interface NodeObservation {
  name: string;
  up: boolean;
  height?: number;
  hash?: string;
  error?: string;
}

/** Per node: the height last seen, for how many probes in a row, and since when. */
export type ChainHistory = Record<string, { height: number; sameHeightProbes: number; since: number }>;

export interface ChainAnalysis {
  ok: boolean;
  down: string[];
  stalled: string[];
  lagging: string[];
  forked: string[];
  /** The largest set of nodes that all agree (the canonical side). */
  agreeing: string[];
  quorum: boolean;
  /** Every node needing a restart, in restart order. */
  faulty: string[];
  summary: string;
}

export interface ChainRules {
  stallProbes: number;
  /** The probe interval: back-to-back checks (before/after an action) must not look like a stall. */
  probeEveryMs: number;
  maxLag: number;
  /** Node names, in restart (and trust) order. */
  order: string[];
}

export function nextHistory(previous: ChainHistory, nodes: readonly NodeObservation[], now: number): ChainHistory {
  const next: ChainHistory = {};
  for (const node of nodes) {
    if (!node.up || node.height === undefined) continue;
    const prior = previous[node.name];
    next[node.name] = prior && prior.height === node.height ? { ...prior, sameHeightProbes: prior.sameHeightProbes + 1 } : { height: node.height, sameHeightProbes: 1, since: now };
  }
  return next;
}

/** Unchanged for `stallProbes` probes and for as long as that many probe intervals take. */
function isStalled(entry: ChainHistory[string] | undefined, rules: ChainRules, now: number): boolean {
  return entry !== undefined && entry.sameHeightProbes >= rules.stallProbes && now - entry.since >= (rules.stallProbes - 1) * rules.probeEveryMs;
}

/** `a|b` with the names in order: the key of a pair in the agreement map. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/**
 * The largest set of pairwise-agreeing nodes. Ties go to the set whose members come earliest in
 * `order` (the configured trust order), so the outcome never depends on timing.
 */
export function largestAgreeingSet(names: readonly string[], agree: ReadonlyMap<string, boolean>, order: readonly string[]): string[] {
  const ranked = [...names].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  let best: string[] = [];
  const total = 1 << ranked.length;
  for (let mask = 1; mask < total; mask++) {
    const members = ranked.filter((_, i) => mask & (1 << i));
    if (members.length < best.length) continue;
    const consistent = members.every((a, i) => members.slice(i + 1).every((b) => agree.get(pairKey(a, b)) === true));
    if (!consistent) continue;
    if (members.length > best.length || earlierInOrder(members, best, ranked)) best = members;
  }
  return best;
}

function earlierInOrder(candidate: string[], current: string[], ranked: string[]): boolean {
  for (let i = 0; i < candidate.length; i++) {
    const a = ranked.indexOf(candidate[i]!);
    const b = ranked.indexOf(current[i]!);
    if (a !== b) return a < b;
  }
  return false;
}

export function analyzeChain(nodes: readonly NodeObservation[], agree: ReadonlyMap<string, boolean>, history: ChainHistory, rules: ChainRules, now: number): ChainAnalysis {
  const up = nodes.filter((n) => n.up && n.height !== undefined);
  const down = nodes.filter((n) => !up.includes(n)).map((n) => n.name);
  const maxHeight = Math.max(...up.map((n) => n.height!), 0);
  const lagging = up.filter((n) => n.height! < maxHeight - rules.maxLag).map((n) => n.name);
  const stalled = up.filter((n) => isStalled(history[n.name], rules, now)).map((n) => n.name);
  const agreeing = largestAgreeingSet(up.map((n) => n.name), agree, rules.order);
  const forked = up.filter((n) => !agreeing.includes(n.name)).map((n) => n.name);
  const quorum = agreeing.length * 3 >= nodes.length * 2;
  const faultySet = new Set([...down, ...stalled, ...lagging, ...forked]);
  const faulty = [...rules.order.filter((name) => faultySet.has(name)), ...[...faultySet].filter((name) => !rules.order.includes(name))];
  const ok = faulty.length === 0 && quorum;
  const describe = (n: NodeObservation) => {
    if (!n.up) return `${n.name} down (${n.error ?? 'no answer'})`;
    const problems = [stalled.includes(n.name) && 'stalled', lagging.includes(n.name) && 'lagging', forked.includes(n.name) && 'forked'].filter(Boolean);
    return `${n.name} h=${n.height}${problems.length ? ` ${problems.join('+')}` : ' ok'}`;
  };
  const summary = `${nodes.map(describe).join('; ')}; ${agreeing.length}/${nodes.length} agree${quorum ? '' : ' — quorum lost'}`;
  return { ok, down, stalled, lagging, forked, agreeing, quorum, faulty, summary };
}

/**
 * The highest height in [0, top] at which every node has the same block, or -1 when they do not
 * even share block 0. Chains that diverged stay diverged, so agreement is monotone and a binary
 * search needs only log2(top) rounds of block look-ups.
 */
export async function lastCommonHeight(top: number, agreeAt: (height: number) => Promise<boolean>): Promise<number> {
  if (!(await agreeAt(0))) return -1;
  let low = 0; // agrees
  let high = top + 1; // first height known not to agree (or past the top)
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await agreeAt(mid)) low = mid;
    else high = mid;
  }
  return low;
}
