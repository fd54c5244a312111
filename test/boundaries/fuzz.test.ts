import { describe, it } from 'vitest';
import { BOUNDARIES } from '../../tools/fuzz/boundaries.js';
import { tempDir } from '../helpers/hotpot.js';
import { describeWithPeers } from '../helpers/peers.js';

/**
 * Every boundary's property (tools/fuzz/boundaries.ts) on a fixed seed, a few hundred cases each;
 * `npm run fuzz` runs ≥ 10,000 per boundary on a printed seed. A failure names the seed and the
 * shrunk counterexample: replay it with `npm run fuzz -- --seed N --runs N --only NAME`.
 */
const SEED = 23_2025;
const RUNS: Record<string, number> = { 'agent-http': 300, 'central-http': 300, mqtt: 200, config: 300, camera: 300 };

describeWithPeers('fuzzed boundaries (fixed seed)', [], () => {
  for (const [name, boundary] of Object.entries(BOUNDARIES)) {
    it(`${name}: ${RUNS[name]} cases hold every property`, async () => {
      await boundary({ runs: RUNS[name]!, seed: SEED, dir: tempDir(`fuzz-${name}`) });
    }, 120_000);
  }
});

describe('the fuzz campaign', () => {
  it('covers the five boundaries of issue 23', () => {
    if (Object.keys(BOUNDARIES).join() !== 'agent-http,central-http,mqtt,config,camera') throw new Error('a boundary went missing');
  });
});
