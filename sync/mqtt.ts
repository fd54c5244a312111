import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';
import type { Logger } from '../lib/log.js';
import { withTimeout } from '../lib/timeout.js';
import { encode, PROTOCOL, topicOf, type MessageKind, type OutgoingOf, type ParamsOf } from './protocol.js';

/** The message the broker publishes for us when the connection dies. */
export type Will = { [K in MessageKind]: { kind: K; params: ParamsOf<K>; payload: OutgoingOf<K> } }[MessageKind];

/** A broker URL the client can dial: a scheme MQTT.js speaks, a host, and a port that exists. */
export const MqttUrl = z
  .string()
  .regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')
  .refine((url) => {
    const port = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)/.exec(url)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, 'its port must be 1 to 65535')
  .refine((url) => URL.canParse(url), 'is not a valid URL (an IPv6 address goes in brackets: mqtt://[::1]:1883)');

/** MQTT carries a user name and password with a 2-byte length: longer ones cannot be sent at all. */
export const MqttLogin = z
  .string()
  .min(1)
  .refine((value) => Buffer.byteLength(value) <= 65_535, 'is longer than the 65535 bytes MQTT can carry');

/** A PEM file (CA, certificate, key) larger than this is not one. */
export const MAX_PEM_BYTES = 1024 * 1024;

/** The TLS files of an MQTT connection: one shape for the agent's and central's config. */
export const mqttTlsFields = {
  /** PEM CA file that signed the broker's certificate (mqtts://). */
  ca: z.string().min(1).optional(),
  /** PEM client certificate and its key (hotpot provision-point --cert), for a broker with require_certificate. */
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
};

/** A client certificate without its key (or the reverse) is a half-done provisioning: say so. */
export function requireCertWithKey(mqtt: { cert?: string | undefined; key?: string | undefined }, ctx: z.RefinementCtx): void {
  if (Boolean(mqtt.cert) !== Boolean(mqtt.key)) {
    ctx.addIssue({ code: 'custom', path: [mqtt.cert ? 'key' : 'cert'], message: 'mqtt.cert and mqtt.key go together (the client certificate and its private key)' });
  }
}

/** A point's MQTT client id: on the brokers we ship only the point's own user may take it. */
export function agentClientId(pointId: string): string {
  return `hotpot-agent-${pointId}`;
}

export interface MqttLinkOptions {
  /** The broker, or the first of `fallbackUrls`' list: the one preferred. */
  url: string;
  /** More brokers, in order of preference: the next is tried when one fails. */
  fallbackUrls?: readonly string[] | undefined;
  /** While on a fallback, how often the first broker is tried again (default 30 s). */
  primaryRetryMs?: number | undefined;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Path to a PEM CA file for TLS (mqtts://). */
  ca?: string | undefined;
  /** Paths to a PEM client certificate and its key. */
  cert?: string | undefined;
  key?: string | undefined;
  keepaliveSeconds: number;
  /** false: a persistent session, so QoS 1 messages for us wait at the broker while we are away. */
  clean: boolean;
  protocolVersion?: 4 | 5;
  /** Called before every (re)connect, so the will can carry the new session number. */
  will?: () => Will;
  /** Called on every successful connect, with the connection count so far. */
  onConnect?: (connection: number) => void;
  log: Logger;
  publishTimeoutMs?: number;
}

export class NotConnectedError extends Error {
  constructor(url: string) {
    super(`not connected to the MQTT broker at ${url}`);
    this.name = 'NotConnectedError';
  }
}

type MessageHandler = (topic: string, payload: Buffer) => void;

const RECONNECT_MS = 1000;
/** After the broker refused the login. */
const REFUSED_RECONNECT_MS = 5000;

/**
 * The one place that talks MQTT. Reconnects by itself; never queues publishes in memory while
 * disconnected (callers keep what must survive in SQLite and publish again on reconnect).
 */
export class MqttLink extends EventEmitter {
  private client: MqttClient | undefined;
  /** A connection to the first broker being tried while the link is on a fallback. */
  private probe: MqttClient | undefined;
  private readonly handlers: MessageHandler[] = [];
  private readonly filters = new Set<string>();
  private connections = 0;
  private readonly urls: readonly string[];
  /** Which of `urls` the link is on (or trying). */
  private index = 0;
  private next: NodeJS.Timeout | undefined;
  private primaryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MqttLinkOptions) {
    super();
    this.urls = [options.url, ...(options.fallbackUrls ?? [])];
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** The broker the link is on (or trying). */
  get url(): string {
    return this.urls[this.index]!;
  }

  start(): void {
    this.client = this.open(0);
  }

  /**
   * A client for `urls[index]`. With one broker mqtt.js reconnects by itself; with a list the link
   * moves to the next broker when a connection fails or drops, and tries the first again every
   * `primaryRetryMs` while on another (make before break: the fallback is left only once the first
   * has accepted the session, so the outbox never sees a gap).
   */
  private open(index: number, asProbe = false): MqttClient {
    const o = this.options;
    const url = this.urls[index]!;
    const single = this.urls.length === 1;
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      clean: o.clean,
      keepalive: o.keepaliveSeconds,
      reconnectPeriod: single ? RECONNECT_MS : 0,
      // A box runs for years untouched: a refused login (a password not yet in the broker's file,
      // a rotation half done) must not end its retries; see the 'packetreceive' handler below.
      reconnectOnConnackError: true,
      connectTimeout: 5000,
      protocolVersion: o.protocolVersion ?? 4,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet's default number cache is 65,536 Buffers (~7 MiB of heap) for a negligible
      // speed-up; a box's agent has better use for the memory.
      writeCache: false,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca ? { ca: readFileSync(o.ca), rejectUnauthorized: true } : {}),
      ...(o.cert && o.key ? { cert: readFileSync(o.cert), key: readFileSync(o.key) } : {}),
      ...(o.will ? { will: this.willPacket() } : {}),
    };
    if ((o.ca || o.cert) && !/^(mqtts|wss|ssl):/.test(url)) o.log.warn({ url }, 'mqtt.ca / mqtt.cert are set but the URL is not TLS (mqtts://): they are not used');
    const client = mqtt.connect(url, clientOptions);
    let refused = false;
    client.on('connect', (connack) => {
      if (asProbe) {
        if (this.probe !== client) return;
        // The first broker is back: the link moves over, then leaves the fallback cleanly (no will).
        const old = this.client;
        o.log.info({ url, from: this.url }, 'mqtt back on the first broker');
        this.probe = undefined;
        this.client = client;
        this.index = 0;
        this.stopPrimaryRetry();
        old?.end(false);
      } else if (this.client !== client) return;
      this.connections++;
      const connection = this.connections;
      o.log.info({ url, sessionPresent: connack.sessionPresent, connection }, 'mqtt connected');
      if (this.index !== 0) this.startPrimaryRetry();
      // 'connect' is emitted only once the subscriptions are granted, so nothing a listener then
      // publishes (e.g. central's "online") can draw replies that arrive before we listen.
      void this.resubscribe(client).then(() => {
        if (this.client !== client || !client.connected) return;
        o.onConnect?.(connection);
        this.emit('connect', connection);
      });
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack') return;
      refused = (packet.returnCode ?? packet.reasonCode ?? 0) !== 0;
      // Refused logins are retried, but gently: a fleet with a wrong password must not hammer the broker.
      if (single) client.options.reconnectPeriod = refused ? REFUSED_RECONNECT_MS : RECONNECT_MS;
    });
    client.on('close', () => {
      if (asProbe) {
        // The first broker is still away: stay on the fallback, try again at the next retry.
        if (this.probe === client) this.dropProbe();
        return;
      }
      if (this.client !== client) return;
      // Refresh the will before mqtt.js reconnects: it builds CONNECT from client.options.
      if (o.will) client.options.will = this.willPacket();
      this.emit('disconnect');
      if (!single) this.moveOn(client, refused ? REFUSED_RECONNECT_MS : RECONNECT_MS);
    });
    client.on('error', (error) => {
      if (this.client === client || this.probe === client) o.log.warn({ err: error.message, url }, 'mqtt error');
    });
    client.on('message', (topic, payload) => {
      for (const handler of this.handlers) {
        try {
          handler(topic, payload);
        } catch (error) {
          o.log.error({ err: error, topic }, 'mqtt message handler failed');
        }
      }
    });
    return client;
  }

  /** The connection to the current broker failed or dropped: the next one, after `delayMs`. */
  private moveOn(failed: MqttClient, delayMs: number): void {
    this.stopPrimaryRetry();
    this.dropProbe();
    failed.end(true);
    clearTimeout(this.next);
    this.next = setTimeout(() => {
      if (this.client !== failed) return;
      const from = this.url;
      this.index = (this.index + 1) % this.urls.length;
      this.options.log.warn({ from, to: this.url }, 'mqtt broker lost; trying the next one');
      this.client = this.open(this.index);
    }, delayMs);
  }

  private startPrimaryRetry(): void {
    if (this.primaryTimer) return;
    this.primaryTimer = setInterval(() => {
      if (this.probe || this.index === 0 || !this.connected) return;
      this.probe = this.open(0, true);
    }, this.options.primaryRetryMs ?? 30_000);
    this.primaryTimer.unref();
  }

  private stopPrimaryRetry(): void {
    clearInterval(this.primaryTimer);
    this.primaryTimer = undefined;
  }

  private dropProbe(): void {
    const probe = this.probe;
    this.probe = undefined;
    probe?.end(true);
  }

  private async resubscribe(client: MqttClient): Promise<void> {
    if (this.filters.size === 0) return;
    try {
      await withTimeout(client.subscribeAsync([...this.filters], { qos: 1 }), this.options.publishTimeoutMs ?? 10_000, 'SUBACK after connect');
    } catch (error) {
      this.options.log.error({ err: (error as Error).message }, 'mqtt subscribe failed; reconnecting');
      client.reconnect();
    }
  }

  private willPacket(): NonNullable<IClientOptions['will']> {
    const will = this.options.will!();
    const spec = PROTOCOL[will.kind];
    return { topic: topicOf(will.kind, will.params as never), payload: encode(will.payload), qos: spec.qos, retain: spec.retain };
  }

  onMessage(handler: MessageHandler): void {
    this.handlers.push(handler);
  }

  /** Resolves once the broker has granted the subscription (or after reconnect, via resubscribe). */
  async subscribe(filters: string[]): Promise<void> {
    filters.forEach((f) => this.filters.add(f));
    const client = this.client;
    if (!client?.connected) return;
    await withTimeout(client.subscribeAsync(filters, { qos: 1 }), this.options.publishTimeoutMs ?? 10_000, `SUBACK for ${filters.join(', ')}`);
  }

  /** Publishes one message of `kind` with its QoS and retain flag; resolves on PUBACK. Rejects at once when disconnected. */
  async publish<K extends MessageKind>(kind: K, params: ParamsOf<K>, payload: OutgoingOf<K>, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.publishEncoded(kind, params, encode(payload), options);
  }

  /** `publish` with a payload the caller serialized itself (the outbox's drain joins stored records). */
  async publishEncoded<K extends MessageKind>(kind: K, params: ParamsOf<K>, payload: Buffer, options: { timeoutMs?: number } = {}): Promise<void> {
    const spec = PROTOCOL[kind];
    await this.publishTopic(topicOf(kind, params), payload, { qos: spec.qos, retain: spec.retain, ...options });
  }

  /** A raw publish, for tools and tests that speak to a broker outside the protocol map. */
  async publishTopic(topic: string, payload: Buffer, options: { retain?: boolean; qos?: 0 | 1; timeoutMs?: number } = {}): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new NotConnectedError(this.url);
    await withTimeout(
      client.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }),
      options.timeoutMs ?? this.options.publishTimeoutMs ?? 10_000,
      `PUBACK for ${topic}`,
    );
  }

  /** Waits for the first connection, up to `ms`. */
  async waitConnected(ms: number): Promise<void> {
    if (this.connected) return;
    await withTimeout(new Promise<void>((resolve) => this.once('connect', () => resolve())), ms, `an MQTT connection to ${this.urls.join(' or ')}`);
  }

  /**
   * Stops the link. `graceful` sends DISCONNECT (no will); otherwise the socket is dropped so the
   * broker publishes the will, as after a crash.
   */
  async stop(graceful = true): Promise<void> {
    const client = this.client;
    this.stopPrimaryRetry();
    this.dropProbe();
    clearTimeout(this.next);
    if (!client) return;
    this.client = undefined;
    await withTimeout(
      // A graceful end waits for in-flight packets: pointless (and slow) with no connection.
      new Promise<void>((resolve) => client.end(!graceful || !client.connected, {}, () => resolve())),
      5000,
      'the MQTT client to close',
    ).catch(() => undefined);
  }
}
