import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { loadCentralConfig } from '../../central/config.js';
import { statusUrlOf } from '../../central/upstream/config.js';

describe('upstream config', () => {
  it('is off by default and takes every key from HOTPOT_UPSTREAM_* env', () => {
    const defaults = loadCentralConfig(undefined, {}).upstream;
    expect(defaults.url).toBeUndefined();
    expect(defaults).toMatchObject({ concurrency: 8, body: 'recordSale', alertAfterMs: 900_000 });
    const config = loadCentralConfig(undefined, {
      HOTPOT_UPSTREAM_URL: 'https://main.example/api/sales',
      HOTPOT_UPSTREAM_TOKEN: 's3cret',
      HOTPOT_UPSTREAM_CONCURRENCY: '4',
      HOTPOT_UPSTREAM_BACKOFF_MAX_MS: '60000',
      HOTPOT_UPSTREAM_POINTS: '{"tbilisi-01": {"nodeId": 3, "posId": "pos-1"}}',
    }).upstream;
    expect(config).toMatchObject({ url: 'https://main.example/api/sales', token: 's3cret', concurrency: 4, backoff: { baseMs: 1000, maxMs: 60_000 } });
    expect(config.points['tbilisi-01']).toEqual({ nodeId: 3, posId: 'pos-1' });
    expect(statusUrlOf(config)).toBe('https://main.example/api/status');
    expect(statusUrlOf({ ...config, statusUrl: 'https://main.example/health' })).toBe('https://main.example/health');
  });

  it('refuses bad values with one line naming each key', () => {
    const load = () =>
      loadCentralConfig(undefined, {
        HOTPOT_UPSTREAM_URL: 'ftp://main.example/sales',
        HOTPOT_UPSTREAM_BODY: 'xml',
        HOTPOT_UPSTREAM_BACKOFF_BASE_MS: '5000',
        HOTPOT_UPSTREAM_BACKOFF_MAX_MS: '1000',
        HOTPOT_UPSTREAM_PERMANENT_ERROR_PATTERN: '(unclosed',
      });
    expect(load).toThrow(ConfigError);
    let problems: string[] = [];
    try {
      load();
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    for (const key of ['upstream.url', 'upstream.body', 'upstream.backoff.maxMs', 'upstream.permanentErrorPattern']) {
      expect(problems.some((line) => line.startsWith(`${key}:`)), `${key} in ${problems.join(' | ')}`).toBe(true);
    }
  });
});
