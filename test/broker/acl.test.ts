import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { brokerUser, CENTRAL_MQTT_USERS, clientIdAllowed, mayPublish, maySubscribe, NOTICES_TOPIC, type BrokerUser } from '../../central/broker/acl.js';
import { INSTALL } from '../install/fixtures.js';
import { mosquittoPasswordLine, parsePasswordFile, passwordMatches } from '../../central/broker/password-file.js';
import { agentFilters, CENTRAL_KINDS, filterOf, sharedFilter, topicOf } from '../../sync/protocol.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { tempDir } from '../helpers/hotpot.js';

const run = promisify(execFile);
const central = brokerUser('hotpot-central')!;
const pointA = brokerUser('point-a')!;

describe('who a broker username is', () => {
  it("central's replicas by name, a point by its id, nobody otherwise", () => {
    expect(central).toEqual({ kind: 'central', username: 'hotpot-central' });
    expect(brokerUser('hotpot-central-2')).toEqual({ kind: 'central', username: 'hotpot-central-2' });
    expect(pointA).toEqual({ kind: 'point', pointId: 'point-a' });
    for (const nobody of ['hotpot-central-9', 'hotpot-central-b', 'Point-A', 'a/b', '#', '+', 'x'.repeat(65), '']) expect(brokerUser(nobody), nobody).toBeNull();
  });

  it('are the users the shipped Mosquitto ACL names, each with the whole v1 tree, and points read what the ACL lets them', () => {
    const acl = readFileSync(join(INSTALL, 'mosquitto/hotpot.acl'), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const users = acl.flatMap((line, i) => (line.startsWith('user ') ? [[line.slice(5), acl[i + 1]]] : []));
    expect(users).toEqual(CENTRAL_MQTT_USERS.map((user) => [user, 'topic readwrite hotpot/v1/#']));
    expect(acl.filter((line) => line.startsWith('pattern '))).toEqual([
      'pattern readwrite hotpot/v1/points/%u/#',
      ...[topicOf('menu', {}), topicOf('centralStatus', {}), NOTICES_TOPIC].map((topic) => `pattern read ${topic}`),
    ]);
  });
});

describe('client ids belong to their users', () => {
  it("a point only as hotpot-agent-<its id>; central's users with any id but a point's", () => {
    expect(clientIdAllowed(pointA, 'hotpot-agent-point-a')).toBe(true);
    for (const id of ['hotpot-agent-point-b', 'hotpot-central', 'point-a', 'hotpot-agent-point-a-2', '']) expect(clientIdAllowed(pointA, id), id).toBe(false);
    expect(clientIdAllowed(central, 'hotpot-central')).toBe(true);
    expect(clientIdAllowed(central, 'central-watch')).toBe(true);
    expect(clientIdAllowed(central, 'hotpot-agent-point-a')).toBe(false);
  });
});

describe('the ACL of install/mosquitto/hotpot.acl', () => {
  const cases: [BrokerUser, string, boolean][] = [
    [pointA, topicOf('pointOrders', { pointId: 'point-a' }), true],
    [pointA, topicOf('pointStatus', { pointId: 'point-a' }), true],
    [pointA, topicOf('pointCommandResult', { pointId: 'point-a', command: 'resync' }), true],
    [pointA, topicOf('pointOrders', { pointId: 'point-b' }), false],
    [pointA, topicOf('pointStatus', { pointId: 'point-b' }), false],
    [pointA, topicOf('menu', {}), false],
    [pointA, topicOf('centralStatus', {}), false],
    [pointA, NOTICES_TOPIC, false],
    [pointA, 'hotpot/v1/points/point-a-2/orders', false],
    [pointA, '$SYS/broker/clients', false],
    [central, topicOf('pointAcks', { pointId: 'point-b' }), true],
    [central, topicOf('menu', {}), true],
    [central, NOTICES_TOPIC, true],
    [central, 'elsewhere/topic', false],
  ];
  it.each(cases)('%o publishes to %s: %s', (user, topic, allowed) => {
    expect(mayPublish(user, topic)).toBe(allowed);
  });

  it('lets a point subscribe to its own topics and to menu, central status and notices, nothing wider', () => {
    for (const filter of [...agentFilters('point-a'), NOTICES_TOPIC, 'hotpot/v1/points/point-a/#', sharedFilter('g', 'hotpot/v1/points/point-a/#')]) {
      expect(maySubscribe(pointA, filter), filter).toBe(true);
    }
    const wider = [
      topicOf('pointAcks', { pointId: 'point-b' }),
      'hotpot/v1/points/+/acks',
      'hotpot/v1/points/#',
      'hotpot/v1/#',
      'hotpot/#',
      '#',
      '+/v1/points/point-a/acks',
      'hotpot/v1/menu/#',
      sharedFilter('g', filterOf('pointOrders')),
      sharedFilter('g', '#'),
      '$share/g',
      '$share//hotpot/v1/points/point-a/#',
      '$share/+/hotpot/v1/points/point-a/#',
      '$SYS/#',
    ];
    for (const filter of wider) expect(maySubscribe(pointA, filter), filter).toBe(false);
  });

  it('lets central subscribe to the whole v1 tree, shared or not, and nothing outside it', () => {
    for (const filter of ['hotpot/v1/points/#', ...CENTRAL_KINDS.map((kind) => filterOf(kind)), sharedFilter('central', filterOf('pointOrders')), 'hotpot/v1/#']) {
      expect(maySubscribe(central, filter), filter).toBe(true);
    }
    for (const filter of ['#', 'hotpot/#', '+/v1/#', '$SYS/#']) expect(maySubscribe(central, filter), filter).toBe(false);
  });
});

describe('the password file', () => {
  it('verifies our own $7$ lines, in constant time, and refuses a wrong password', async () => {
    const { entries, problems } = parsePasswordFile(`${mosquittoPasswordLine('point-a', 'right')}\n\n# a comment\n`);
    expect(problems).toEqual([]);
    const entry = entries.get('point-a')!;
    expect(await passwordMatches(entry, 'right')).toBe(true);
    expect(await passwordMatches(entry, 'wrong')).toBe(false);
    expect(await passwordMatches(entry, '')).toBe(false);
  });

  it('names the lines it cannot use, never their hashes, and keeps the others', () => {
    const good = mosquittoPasswordLine('point-b', 'pw');
    const text = ['no-colon-here', 'point-x:$6$abc$def', 'point-y:$7$0$c2FsdA==$aGFzaA==', 'point-z:$7$101$!!$aGFzaA==', good].join('\n');
    const { entries, problems } = parsePasswordFile(text);
    expect([...entries.keys()]).toEqual(['point-b']);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^line 1: username/);
    expect(problems[1]).toMatch(/^line 2 \(point-x\): .*\$7\$/);
    expect(problems[2]).toMatch(/^line 3 \(point-y\): iterations/);
    expect(problems.join('\n')).not.toContain('aGFzaA==');
  });
});

describeWithPeers("the password file as Mosquitto's own tool writes it", [peers.mosquitto()], () => {
  it('verifies a password hashed by mosquitto_passwd', async () => {
    const file = join(tempDir('passwd'), 'passwd');
    writeFileSync(file, 'kutaisi-3:correct horse battery staple\nhotpot-central:another one\n');
    await run('mosquitto_passwd', ['-U', file], { timeout: 10_000 });
    const { entries, problems } = parsePasswordFile(readFileSync(file, 'utf8'));
    expect(problems).toEqual([]);
    expect(await passwordMatches(entries.get('kutaisi-3')!, 'correct horse battery staple')).toBe(true);
    expect(await passwordMatches(entries.get('hotpot-central')!, 'another one')).toBe(true);
    expect(await passwordMatches(entries.get('kutaisi-3')!, 'another one')).toBe(false);
  });
});
