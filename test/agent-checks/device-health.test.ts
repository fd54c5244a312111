import { describe } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { agentConfigSchema } from '../../agent/config.js';
import { DeviceHealth, buildChecks, loadDevices, type Check, type OverrideStore } from '../../agent/checks/index.js';
import { TcpTarget } from '../peers/tcp-target.js';
import { waitFor } from '../peers/net.js';
import { tempDir } from '../helpers/hotpot.js';
import { healthProviderContract } from './health.contract.js';

describe("health provider contract: DeviceHealth (the check runner, real internet check on loopback targets)", () => {
  healthProviderContract(
    async () => {
      const targets = [new TcpTarget(), new TcpTarget()];
      await Promise.all(targets.map((target) => target.open()));
      let centralConnected = false;
      const config = agentConfigSchema.parse({
        pointId: 'health-contract',
        dataDir: tempDir('health-contract'),
        // Faster rounds than the default; the hysteresis (2 down, 3 up) stays the default.
        checks: { internet: { targets: targets.map((target) => target.url), intervalMs: 100, timeoutMs: 300 } },
      });
      let internetRounds = 0;
      const counted = (check: Check): Check => ({
        name: check.name,
        run: async () => {
          const result = await check.run();
          if (check.name === 'internet') internetRounds++;
          return result;
        },
      });
      const checks = buildChecks(config, await loadDevices(config), () => centralConnected).map((entry) => ({ ...entry, check: counted(entry.check) }));
      const meta = new Map<string, string>();
      const overrides: OverrideStore = { getMeta: (key) => meta.get(key) ?? null, setMeta: (key, value) => void meta.set(key, value) };
      const provider = new DeviceHealth({ checks, log: silentLogger(), overrides });
      return {
        provider,
        internetUp: async () => {
          await Promise.all(targets.map((target) => target.open()));
          centralConnected = true;
        },
        internetDown: async () => {
          centralConnected = false;
          await Promise.all(targets.map((target) => target.close()));
        },
        sameAgain: async () => {
          const seen = internetRounds;
          await waitFor(() => internetRounds >= seen + 3, 'three more internet check rounds', 10_000);
        },
        close: async () => {
          await Promise.all(targets.map((target) => target.close()));
        },
      };
    },
    { forcible: true },
  );
});
