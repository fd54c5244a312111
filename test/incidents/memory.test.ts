import { describe, expect, it } from 'vitest';
import { MemoryIncidents } from '../peers/memory-incidents.js';
import { incidentSinkContract } from './incidents.contract.js';

describe('incident contract: MemoryIncidents (test double for detectors)', () => {
  incidentSinkContract((clock) => ({ incidents: new MemoryIncidents(clock), close: () => undefined }));

  it('records every call in order, unchanged raises included, for tests that assert what a detector did', () => {
    const incidents = new MemoryIncidents();
    const raise = { key: 'runbook:main-server', title: 'main server down', severity: 'critical', detail: 'HTTP 502' } as const;
    const incident = incidents.raise(raise);
    incidents.raise(raise);
    incidents.note(incident.id, 'runbook', 'restart sent');
    incidents.clear(raise.key, 'up again');
    incidents.note(incident.id, 'runbook', 'verified');
    expect(incidents.raised(raise.key).map((entry) => `${entry.severity}: ${entry.text}`)).toEqual(['critical: HTTP 502', 'critical: HTTP 502']);
    expect(incidents.log.map((entry) => `${entry.call} ${entry.key}: ${entry.text}`)).toEqual([
      'raise runbook:main-server: HTTP 502',
      'raise runbook:main-server: HTTP 502',
      'note runbook:main-server: runbook: restart sent',
      'clear runbook:main-server: up again',
      `note (closed ${incident.id}): runbook: verified`,
    ]);
    expect(incidents.open.size).toBe(0);
  });
});
