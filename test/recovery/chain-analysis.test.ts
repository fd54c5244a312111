import { describe, expect, it } from 'vitest';
import { analyzeChain, largestAgreeingSet, lastCommonHeight, nextHistory, pairKey, type NodeObservation } from '../../central/recovery/chain.js';

const rules = { stallProbes: 3, probeEveryMs: 1000, maxLag: 2, order: ['a', 'b', 'c'] };
const NOW = 100_000;
const up = (name: string, height: number, hash = `h${height}`): NodeObservation => ({ name, up: true, height, hash });
const agreement = (pairs: Record<string, boolean>) => new Map(Object.entries(pairs));

describe('chain analysis (pure)', () => {
  it('is healthy when every node is up, close in height and agrees', () => {
    const nodes = [up('a', 40), up('b', 40), up('c', 39)];
    const result = analyzeChain(nodes, agreement({ 'a|b': true, 'a|c': true, 'b|c': true }), nextHistory({}, nodes, NOW), rules, NOW);
    expect(result).toMatchObject({ ok: true, faulty: [], quorum: true, agreeing: ['a', 'b', 'c'] });
  });

  it('finds a down node; two of three still make quorum', () => {
    const nodes = [up('a', 40), { name: 'b', up: false, error: 'ECONNREFUSED' }, up('c', 40)];
    const result = analyzeChain(nodes, agreement({ 'a|c': true }), {}, rules, NOW);
    expect(result).toMatchObject({ ok: false, down: ['b'], quorum: true, faulty: ['b'] });
    expect(result.summary).toContain('b down (ECONNREFUSED)');
  });

  it('counts probes at one height and flags a stall after stallProbes probe intervals', () => {
    let history = {};
    let now = NOW;
    for (const height of [10, 10, 10]) history = nextHistory(history, [up('a', height + 5), up('b', height)], (now += 1000));
    expect(history).toEqual({ a: { height: 15, sameHeightProbes: 3, since: NOW + 1000 }, b: { height: 10, sameHeightProbes: 3, since: NOW + 1000 } });
    history = nextHistory(history, [up('a', 16), up('b', 10)], (now += 1000));
    const all = [up('a', 16), up('b', 10), up('c', 16)];
    const result = analyzeChain(all, agreement({ 'a|b': true, 'a|c': true, 'b|c': true }), { ...history, c: { height: 16, sameHeightProbes: 1, since: now } }, rules, now);
    expect(result.stalled).toEqual(['b']);
    expect(result.lagging).toEqual(['b']);
    expect(result.faulty).toEqual(['b']);
    expect(result.quorum).toBe(true);
  });

  it('does not call back-to-back checks at one height a stall', () => {
    let history = {};
    for (const at of [NOW, NOW + 50, NOW + 100]) history = nextHistory(history, [up('a', 40)], at);
    expect(analyzeChain([up('a', 40)], agreement({}), history, rules, NOW + 100).stalled).toEqual([]);
    expect(analyzeChain([up('a', 40)], agreement({}), history, rules, NOW + 2000).stalled).toEqual(['a']);
  });

  it('finds a fork: the node outside the largest agreeing set', () => {
    const result = analyzeChain([up('a', 40), up('b', 40), up('c', 40, 'other')], agreement({ 'a|b': true, 'a|c': false, 'b|c': false }), {}, rules, NOW);
    expect(result).toMatchObject({ forked: ['c'], agreeing: ['a', 'b'], quorum: true, faulty: ['c'] });
  });

  it('loses quorum when fewer than 2/3 agree, and lists every faulty node in restart order', () => {
    const result = analyzeChain([up('a', 40), up('b', 40), up('c', 40)], agreement({ 'a|b': false, 'a|c': false, 'b|c': false }), {}, { ...rules, order: ['c', 'a', 'b'] }, NOW);
    expect(result.quorum).toBe(false);
    expect(result.agreeing).toEqual(['c']); // trust order breaks the tie
    expect(result.faulty).toEqual(['a', 'b']);
    expect(result.summary).toContain('quorum lost');
  });

  it('sides with the nodes a stalled node agrees with when a fork rewrote recent blocks', () => {
    // b stalled at 35, c forked from 33: b still agrees with a, not with c
    const result = analyzeChain([up('a', 40), up('b', 35), up('c', 40)], agreement({ 'a|b': true, 'a|c': false, 'b|c': false }), { b: { height: 35, sameHeightProbes: 3, since: NOW - 5000 } }, rules, NOW);
    expect(result.agreeing).toEqual(['a', 'b']);
    expect(result.faulty).toEqual(['b', 'c']);
  });

  it('breaks ties between equally large agreeing sets by the configured order', () => {
    // a stalled low agrees with both branches; b and c disagree
    const agree = agreement({ [pairKey('a', 'b')]: true, [pairKey('a', 'c')]: true, [pairKey('b', 'c')]: false });
    expect(largestAgreeingSet(['c', 'b', 'a'], agree, ['a', 'b', 'c'])).toEqual(['a', 'b']);
    expect(largestAgreeingSet(['a', 'b', 'c'], agree, ['c', 'a', 'b'])).toEqual(['c', 'a']);
  });

  it('finds the last common height by binary search over monotone agreement', async () => {
    for (const [top, diverged] of [
      [100, 20],
      [100, 101],
      [1, 1],
      [0, 1],
      [57, 57],
    ] as const) {
      const asked: number[] = [];
      const result = await lastCommonHeight(top, async (h) => {
        asked.push(h);
        return h < diverged;
      });
      expect(result).toBe(Math.min(top, diverged - 1));
      expect(asked.length).toBeLessThanOrEqual(Math.ceil(Math.log2(top + 2)) + 1);
    }
    expect(await lastCommonHeight(50, async () => false)).toBe(-1);
  });
});
