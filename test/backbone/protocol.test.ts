import { describe, expect, it } from 'vitest';
import { agentFilters, decodeMessage, decodePayload, filterOf, parseTopic, PROTOCOL, topicOf } from '../../sync/protocol.js';
import { OrdersMessage, OrderRecord, orderNumber, StatusMessage, MAX_PAYLOAD_BYTES } from '../../sync/schemas.js';
import { uuidv7, UUID_V7 } from '../../lib/uuidv7.js';

function order(overrides: Partial<OrderRecord> = {}): OrderRecord {
  return {
    id: uuidv7(),
    pointId: 'tbilisi-01',
    seq: 7,
    number: orderNumber('tbilisi-01', 7),
    createdAt: 1_700_000_000_000,
    items: [{ sku: 'tofu', name: 'Tofu', unitPrice: 600, qty: 2, lineTotal: 1200 }],
    total: 1200,
    currency: 'GEL',
    payment: 'cash',
    note: null,
    clientRef: null,
    mode: 'offline',
    ...overrides,
  };
}

describe('v1 topic map', () => {
  it('builds and parses every point topic', () => {
    expect(topicOf('pointOrders', { pointId: 'batumi-02' })).toBe('hotpot/v1/points/batumi-02/orders');
    expect(parseTopic(topicOf('pointOrders', { pointId: 'batumi-02' }))).toEqual({ kind: 'pointOrders', params: { pointId: 'batumi-02' } });
    expect(parseTopic(topicOf('pointStatus', { pointId: 'a' }))).toEqual({ kind: 'pointStatus', params: { pointId: 'a' } });
    expect(parseTopic(topicOf('pointCommand', { pointId: 'a', command: 'resync' }))).toEqual({ kind: 'pointCommand', params: { pointId: 'a', command: 'resync' } });
    expect(parseTopic(topicOf('pointCommandResult', { pointId: 'a', command: 'reprint' }))).toEqual({ kind: 'pointCommandResult', params: { pointId: 'a', command: 'reprint' } });
    expect(parseTopic(topicOf('menu', {}))).toEqual({ kind: 'menu', params: {} });
    expect(parseTopic(topicOf('centralStatus', {}))).toEqual({ kind: 'centralStatus', params: {} });
    // every kind round-trips, and its filter matches the topic shape
    for (const kind of Object.keys(PROTOCOL) as (keyof typeof PROTOCOL)[]) {
      const params = { pointId: 'kutaisi-01', command: 'mode' } as never;
      expect(parseTopic(topicOf(kind, params))?.kind).toBe(kind);
      expect(filterOf(kind).split('/').length).toBe(topicOf(kind, params).split('/').length);
    }
  });

  it('refuses to build a topic for a bad point id or command', () => {
    expect(() => topicOf('pointOrders', { pointId: 'a/b' })).toThrow(/bad pointId/);
    expect(() => topicOf('pointCommand', { pointId: 'a', command: 'format-disk' as never })).toThrow(/bad command/);
  });

  it('decodes every message into a tagged union, commands with their own argument schemas', () => {
    const mode = decodeMessage(topicOf('pointCommand', { pointId: 'a', command: 'mode' }), Buffer.from(JSON.stringify({ ts: 1, id: 'c1', args: { force: null } })));
    expect(mode).toEqual({ ok: true, value: { kind: 'pointCommand', params: { pointId: 'a', command: 'mode' }, message: { ts: 1, id: 'c1', args: { force: null } } } });
    // what a 0.1 central sent for "hand the mode back"
    const legacy = decodeMessage(topicOf('pointCommand', { pointId: 'a', command: 'mode' }), Buffer.from(JSON.stringify({ ts: 1, id: 'c2', args: { force: 'none' } })));
    expect(legacy.ok && legacy.value.kind === 'pointCommand' && legacy.value.message.args).toEqual({ force: null });
    const resync = decodeMessage(topicOf('pointCommand', { pointId: 'a', command: 'resync' }), Buffer.from(JSON.stringify({ ts: 1, id: 'c3' })));
    expect(resync.ok && resync.value.message).toEqual({ ts: 1, id: 'c3', args: {} });
    const smuggled = decodeMessage(topicOf('pointCommand', { pointId: 'a', command: 'resync' }), Buffer.from(JSON.stringify({ ts: 1, id: 'c4', args: { run: 'rm -rf /' } })));
    expect(smuggled).toMatchObject({ ok: false, reason: 'bad_schema', kind: 'pointCommand', pointId: 'a' });
    const badForce = decodeMessage(topicOf('pointCommand', { pointId: 'a', command: 'mode' }), Buffer.from(JSON.stringify({ ts: 1, id: 'c5', args: { force: 'sideways' } })));
    expect(badForce).toMatchObject({ ok: false, reason: 'bad_schema' });
    expect(decodeMessage('hotpot/v1/points/a/bogus', Buffer.from('{}'))).toMatchObject({ ok: false, reason: 'unknown_topic', kind: null });
  });

  it('refuses unknown topics, bad point ids and unknown commands', () => {
    expect(parseTopic('hotpot/v1/points/a/orders/extra')).toBeNull();
    expect(parseTopic('hotpot/v1/points/UPPER/orders')).toBeNull();
    expect(parseTopic('hotpot/v1/points/a/cmd/format-disk')).toBeNull();
    expect(parseTopic('hotpot/v2/points/a/orders')).toBeNull();
  });

  it('lets an agent subscribe only under its own point and the shared read-only topics', () => {
    for (const filter of agentFilters('kutaisi-01')) {
      expect(
        filter.startsWith('hotpot/v1/points/kutaisi-01/') || filter === topicOf('menu', {}) || filter === topicOf('centralStatus', {}) || filter === topicOf('notices', {}),
      ).toBe(true);
    }
  });
});

describe('payload schemas', () => {
  it('accepts a consistent order and carries ts on the message', () => {
    const decoded = decodePayload(OrdersMessage, Buffer.from(JSON.stringify({ ts: 1, orders: [order()] })));
    expect(decoded.ok).toBe(true);
  });

  it.each([
    ['fractional money', { total: 12.5 }, 'total'],
    ['a wrong total', { total: 1 }, 'total'],
    ['a number that is not <pointId>-<seq>', { number: 'tbilisi-01-9' }, 'number'],
    ['a non-v7 id', { id: '123e4567-e89b-12d3-a456-426614174000' }, 'id'],
  ])('rejects %s naming the field', (_label, overrides, field) => {
    const decoded = decodePayload(OrdersMessage, Buffer.from(JSON.stringify({ ts: 1, orders: [order(overrides as Partial<OrderRecord>)] })));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.reason).toBe('bad_schema');
      expect(decoded.detail).toContain(field);
    }
  });

  it('classifies bad JSON and oversize payloads', () => {
    const bad = decodePayload(StatusMessage, Buffer.from('{"online": tru'));
    expect(bad.ok ? null : bad.reason).toBe('bad_json');
    const big = decodePayload(StatusMessage, Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 32));
    expect(big.ok ? null : big.reason).toBe('too_large');
  });
});

describe('uuidv7', () => {
  it('is a valid v7 and sorts in creation order within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('notices payload', () => {
  const text = { ru: 'Сервер недоступен.', en: 'The server is down.', ka: 'სერვერი მიუწვდომელია.' };
  const decode = (value: unknown) => decodeMessage(topicOf('notices', {}), Buffer.from(JSON.stringify(value)));

  it('is the retained list of current notices, [] when there are none', () => {
    expect(PROTOCOL.notices).toMatchObject({ template: 'notices', qos: 1, retain: true });
    expect(decode([])).toMatchObject({ ok: true, value: { kind: 'notices', message: [] } });
    expect(decode([{ id: 'n1', severity: 'warning', text, since: 1 }])).toMatchObject({ ok: true, value: { message: [{ id: 'n1', severity: 'warning', text }] } });
  });

  it('refuses an unknown severity, a missing language and a text over 500 characters', () => {
    expect(decode([{ id: 'n1', severity: 'major', text, since: 1 }])).toMatchObject({ ok: false, reason: 'bad_schema', detail: expect.stringContaining('0.severity') });
    expect(decode([{ id: 'n1', severity: 'info', text: { ru: 'a', en: 'b' }, since: 1 }])).toMatchObject({ ok: false, detail: expect.stringContaining('0.text.ka') });
    expect(decode([{ id: 'n1', severity: 'info', text: { ...text, en: 'x'.repeat(501) }, since: 1 }])).toMatchObject({ ok: false, detail: expect.stringContaining('0.text.en') });
    expect(decode({ notices: [] })).toMatchObject({ ok: false, reason: 'bad_schema' });
  });
});
