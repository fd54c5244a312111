import { describe, expect, it } from 'vitest';
import { ladderSchema, quietHoursSchema, RUNBOOK_LADDER_STEPS, type LadderConfig } from '../../central/notify/config.js';
import { dueNotices, escalationPhase, type EscalationEvent, type SendRecord } from '../../central/notify/ladder.js';
import { severityRaised } from '../../central/incidents/types.js';
import { quietHoursDecision, quietHoursEnd } from '../../central/notify/quiet-hours.js';
import { ackToken, ackUrl, verifyAckToken } from '../../central/notify/ack-link.js';

const MIN = 60_000;
const runbook = ladderSchema.parse({ steps: RUNBOOK_LADDER_STEPS });

/** Walks minute by minute, sending whatever is due at once, and lists what went out when. */
function simulate(ladder: LadderConfig, events: EscalationEvent[], untilMinute: number, sends: SendRecord[] = []) {
  const sent: string[] = [];
  for (let minute = 0; minute <= untilMinute; minute++) {
    const now = minute * MIN;
    for (const due of dueNotices({ openedAt: 0, events }, ladder, sends, now)) {
      sends.push({ ...due, status: 'sent', sentAt: now });
      sent.push(`${minute} ${due.kind} ${due.channel}${due.contact ? `:${due.contact}` : ''}`);
    }
  }
  return { sent, sends };
}

describe('escalation ladder (pure)', () => {
  it('follows the runbook: chat at 0, e-mail at 5, SMS at 15, call at 30, then loops and reminds', () => {
    const { sent } = simulate(runbook, [], 185);
    expect(sent.slice(0, 4)).toEqual(['0 page chat', '5 page email:administrator', '15 page sms:on-duty', '30 page call:on-duty']);
    // Nobody acked: the ladder repeats (loop = last step + 15 min), three passes by default...
    expect(sent.filter((s) => s.includes('page'))).toHaveLength(12);
    expect(sent).toContain('45 page chat');
    expect(sent).toContain('120 page call:on-duty');
    // ...then the repeat interval keeps a long incident visible on the first step.
    expect(sent.filter((s) => s.includes('reminder'))).toEqual(['120 reminder chat', '180 reminder chat']);
  });

  it('an ack at 7 stops SMS and call; the ack timeout restarts the ladder from the first step', () => {
    const { sent } = simulate(runbook, [{ type: 'ack', at: 7 * MIN }], 33);
    expect(sent).toEqual(['0 page chat', '5 page email:administrator', '17 page chat', '22 page email:administrator', '32 page sms:on-duty']);
    expect(escalationPhase({ openedAt: 0, events: [{ type: 'ack', at: 7 * MIN }] }, runbook, 16 * MIN)).toMatchObject({ round: 0, ackedAt: 7 * MIN });
    expect(escalationPhase({ openedAt: 0, events: [{ type: 'ack', at: 7 * MIN }] }, runbook, 17 * MIN)).toMatchObject({ round: 1, roundStartedAt: 17 * MIN, ackedAt: null });
  });

  it('a re-ack restarts the ack timeout; ackTimeoutMinutes 0 never restarts', () => {
    const events: EscalationEvent[] = [{ type: 'ack', at: 7 * MIN }, { type: 'ack', at: 12 * MIN }];
    expect(simulate(runbook, events, 21).sent).toEqual(['0 page chat', '5 page email:administrator']);
    expect(simulate(runbook, events, 22).sent).toContain('22 page chat');
    const patient = ladderSchema.parse({ steps: RUNBOOK_LADDER_STEPS, ackTimeoutMinutes: 0, repeatMinutes: 0 });
    expect(simulate(patient, [{ type: 'ack', at: 7 * MIN }], 300).sent).toEqual(['0 page chat', '5 page email:administrator']);
  });

  it('resolving sends one all-clear per channel and recipient already reached, and only once', () => {
    const events: EscalationEvent[] = [{ type: 'ack', at: 7 * MIN }, { type: 'resolve', at: 20 * MIN }];
    const { sent, sends } = simulate(runbook, events, 19);
    expect(sent).toEqual(['0 page chat', '5 page email:administrator', '17 page chat']);
    const after = simulate(runbook, events, 60, sends).sent.filter((s) => s.includes('resolved'));
    expect(after).toEqual(['20 resolved chat', '20 resolved email:administrator']);
  });

  it('a failed or still-queued message earns no all-clear', () => {
    const sends: SendRecord[] = [
      { slot: 'r0.l0.s0', kind: 'page', channel: 'chat', contact: '', status: 'sent', sentAt: 0 },
      { slot: 'r0.l0.s1', kind: 'page', channel: 'email', contact: 'administrator', status: 'failed', sentAt: null },
    ];
    const due = dueNotices({ openedAt: 0, events: [{ type: 'resolve', at: 6 * MIN }] }, runbook, sends, 6 * MIN);
    expect(due).toEqual([{ slot: 'resolved@r0.l0.s0', kind: 'resolved', channel: 'chat', contact: '' }]);
  });

  it('a flapping incident continues its ladder (no second page); whoever got the all-clear hears it is back', () => {
    const events: EscalationEvent[] = [
      { type: 'resolve', at: 2 * MIN },
      { type: 'reopen', at: 3 * MIN },
      { type: 'resolve', at: 4 * MIN },
      { type: 'reopen', at: 4.5 * MIN },
      { type: 'resolve', at: 7 * MIN },
    ];
    const { sent } = simulate(runbook, events, 40);
    expect(sent).toEqual([
      '0 page chat',
      '2 resolved chat',
      '3 relapse chat',
      '4 resolved chat',
      '5 relapse chat',
      '5 page email:administrator',
      '7 resolved chat',
      '7 resolved email:administrator',
    ]);
  });

  it('an ack that timed out while the incident was resolved restarts the ladder at the reopen, not in the past', () => {
    const events: EscalationEvent[] = [
      { type: 'ack', at: 1 * MIN },
      { type: 'resolve', at: 2 * MIN },
      { type: 'reopen', at: 20 * MIN },
    ];
    expect(escalationPhase({ openedAt: 0, events }, runbook, 20 * MIN)).toMatchObject({ round: 1, roundStartedAt: 20 * MIN, resolvedAt: null });
    expect(simulate(runbook, events, 25).sent).toEqual(['0 page chat', '2 resolved chat', '20 relapse chat', '20 page chat', '25 page email:administrator']);
  });

  it('after downtime only the current loop is due: missed steps of an earlier loop are not sent late', () => {
    const due = dueNotices({ openedAt: 0, events: [] }, runbook, [], 50 * MIN);
    expect(due.map((d) => d.slot)).toEqual(['r0.l1.s0', 'r0.l1.s1']);
  });

  it('an all-clear never rings a phone: who was reached by a call hears it on the other channels they were reached on', () => {
    const events: EscalationEvent[] = [{ type: 'resolve', at: 31 * MIN }];
    const { sent } = simulate(runbook, events, 40);
    expect(sent.filter((s) => s.includes('resolved'))).toEqual(['31 resolved chat', '31 resolved email:administrator', '31 resolved sms:on-duty']);
  });

  it('a relapse tells only those who got the all-clear, on the channel they got it on, once per re-opening', () => {
    const sends: SendRecord[] = [
      { slot: 'r0.l0.s0', kind: 'page', channel: 'chat', contact: '', status: 'sent', sentAt: 0 },
      { slot: 'r0.l0.s1', kind: 'page', channel: 'email', contact: 'administrator', status: 'failed', sentAt: null },
      { slot: 'resolved@r0.l0.s0', kind: 'resolved', channel: 'chat', contact: '', status: 'sent', sentAt: 6 * MIN },
    ];
    const state = { openedAt: 0, events: [{ type: 'resolve', at: 6 * MIN }, { type: 'reopen', at: 8 * MIN }] satisfies EscalationEvent[] };
    const due = dueNotices(state, runbook, sends, 8 * MIN);
    expect(due).toEqual([{ slot: `relapse@${8 * MIN}`, kind: 'relapse', channel: 'chat', contact: '', clearedAt: 6 * MIN }]);
    expect(dueNotices(state, runbook, [...sends, { ...due[0]!, status: 'sent', sentAt: 8 * MIN }], 9 * MIN)).toEqual([]);
  });

  it('a raised severity voids the ack and starts the ladder now from its first step; a drop is no raise; a silence still holds', () => {
    expect([severityRaised('minor', 'critical'), severityRaised('minor', 'major'), severityRaised('major', 'critical'), severityRaised('info', 'minor')]).toEqual([true, true, true, true]);
    expect([severityRaised('critical', 'minor'), severityRaised('major', 'minor'), severityRaised('critical', 'critical')]).toEqual([false, false, false]);
    const acked: EscalationEvent[] = [{ type: 'ack', at: 2 * MIN, by: 'nino' }];
    expect(escalationPhase({ openedAt: 0, events: acked }, runbook, 3 * MIN)).toMatchObject({ round: 0, ackedAt: 2 * MIN, ackedBy: 'nino' });
    const raised: EscalationEvent[] = [...acked, { type: 'raise', at: 3 * MIN }];
    expect(escalationPhase({ openedAt: 0, events: raised }, runbook, 3 * MIN)).toMatchObject({ round: 1, roundStartedAt: 3 * MIN, ackedAt: null, ackedBy: null });
    // Without the raise the ack holds until its timeout (12); raised at 3, the whole ladder runs again from 3.
    expect(simulate(runbook, acked, 12).sent).toEqual(['0 page chat', '12 page chat']);
    expect(simulate(runbook, raised, 33).sent).toEqual(['0 page chat', '3 page chat', '8 page email:administrator', '18 page sms:on-duty', '33 page call:on-duty']);
    // Unacked, a raise also starts over now (the first step of the new ladder is not left to the old round's clock).
    expect(simulate(runbook, [{ type: 'raise', at: 3 * MIN }], 8).sent).toEqual(['0 page chat', '3 page chat', '8 page email:administrator']);
    // Silenced: nothing pages, raised or not.
    expect(simulate(runbook, [{ type: 'silence', at: MIN }, ...raised], 60).sent).toEqual(['0 page chat']);
    // Resolved: a raise changes nothing.
    expect(escalationPhase({ openedAt: 0, events: [{ type: 'resolve', at: MIN }, { type: 'raise', at: 3 * MIN }] }, runbook, 4 * MIN)).toMatchObject({ round: 0, resolvedAt: MIN });
  });

  it('a step naming several contacts pages each one', () => {
    const ladder = ladderSchema.parse({ steps: [{ afterMinutes: 0, channel: 'sms', to: ['nino', 'giorgi'] }] });
    expect(dueNotices({ openedAt: 0, events: [] }, ladder, [], 0).map((d) => d.contact)).toEqual(['nino', 'giorgi']);
  });
});

describe('quiet hours (pure)', () => {
  const night = quietHoursSchema.parse({ from: '22:00', to: '08:00', timeZone: '+04:00' });
  const tbilisi = quietHoursSchema.parse({ from: '22:00', to: '08:00', timeZone: 'Asia/Tbilisi', nonCritical: 'skip' });
  const at = (utc: string) => Date.parse(`${utc}Z`);

  it('finds the end of quiet hours across midnight, by offset or IANA zone', () => {
    // 01:30 in Tbilisi (UTC+4) is 21:30 UTC the day before; quiet hours end at 08:00 local = 04:00 UTC.
    expect(quietHoursEnd(night, at('2025-01-14T21:30:00'))).toBe(at('2025-01-15T04:00:00'));
    expect(quietHoursEnd(tbilisi, at('2025-01-14T21:30:00'))).toBe(at('2025-01-15T04:00:00'));
    expect(quietHoursEnd(night, at('2025-01-15T09:00:00'))).toBeNull();
    expect(quietHoursEnd(night, at('2025-01-15T18:00:00'))).toBe(at('2025-01-16T04:00:00'));
  });

  it('holds SMS and calls for non-critical incidents only, as the contact says', () => {
    const now = at('2025-01-14T21:30:00');
    const contact = { name: 'on-duty', quietHours: night };
    expect(quietHoursDecision(contact, 'sms', 'page', 'major', now)).toEqual({ action: 'defer', until: at('2025-01-15T04:00:00') });
    expect(quietHoursDecision(contact, 'call', 'page', 'critical', now)).toEqual({ action: 'send' });
    expect(quietHoursDecision(contact, 'email', 'page', 'minor', now)).toEqual({ action: 'send' });
    expect(quietHoursDecision(contact, 'sms', 'resolved', 'major', now)).toEqual({ action: 'skip' });
    expect(quietHoursDecision({ name: 'x', quietHours: tbilisi }, 'call', 'page', 'major', now)).toEqual({ action: 'skip' });
    expect(quietHoursDecision(contact, 'sms', 'page', 'major', at('2025-01-15T10:00:00'))).toEqual({ action: 'send' });
  });
});

describe('ack links', () => {
  it('are bound to the incident and the recipient', () => {
    const token = ackToken('secret-secret-secret', 'inc-1', 'administrator');
    expect(verifyAckToken('secret-secret-secret', 'inc-1', 'administrator', token)).toBe(true);
    expect(verifyAckToken('secret-secret-secret', 'inc-2', 'administrator', token)).toBe(false);
    expect(verifyAckToken('secret-secret-secret', 'inc-1', 'on-duty', token)).toBe(false);
    expect(verifyAckToken('another-secret-key', 'inc-1', 'administrator', token)).toBe(false);
    expect(verifyAckToken('secret-secret-secret', 'inc-1', 'administrator', 'short')).toBe(false);
    const url = new URL(ackUrl('https://central.example/ops', 'secret-secret-secret', 'inc-1', 'administrator'));
    expect(url.pathname).toBe('/ops/api/ack/inc-1');
    expect(url.searchParams.get('token')).toBe(token);
  });
});
