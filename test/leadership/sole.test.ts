import { describe } from 'vitest';
import { SoleLeader } from '../../central/leader.js';
import { leadershipContract } from './leadership.contract.js';

describe('leadership contract: SoleLeader (one central on SQLite)', () => {
  leadershipContract(() => new SoleLeader());
});
