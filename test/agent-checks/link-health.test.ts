import { describe } from 'vitest';
import { LinkHealth } from '../../agent/health.js';
import { healthProviderContract } from './health.contract.js';

describe('health provider contract: LinkHealth (the MQTT link stands in for the internet check)', () => {
  healthProviderContract(
    async () => {
      const provider = new LinkHealth(Date.now());
      // The link as the agent reports it: every connect and disconnect, repeats included.
      let connected = false;
      return {
        provider,
        internetUp: async () => provider.setLink((connected = true), Date.now()),
        internetDown: async () => provider.setLink((connected = false), Date.now()),
        sameAgain: async () => provider.setLink(connected, Date.now()),
        close: async () => undefined,
      };
    },
    { forcible: false },
  );
});
