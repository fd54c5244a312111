import { isIPv6 } from 'node:net';
import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { Notifier, type AnnounceOutcome, type AnnounceRequest } from './notifier.js';
import { registerNotifyRoutes } from './routes.js';
import { NOTIFY_MIGRATIONS } from './store.js';

/** What the notify plugin offers: a runbook's notify step is sent, and known to be accepted, through it. */
export interface NotifyApi {
  /**
   * Sends a runbook step's words on the first channel of `severity`'s ladder and resolves once a
   * channel accepted it, or it failed for good, or `timeoutMs` passed (then it keeps retrying).
   */
  announce(request: AnnounceRequest, timeoutMs: number): Promise<AnnounceOutcome>;
}

declare module '../plugin.js' {
  interface PluginApis {
    notify: NotifyApi;
  }
}

/** `http://<address>:<port>` of what central listens on; an all-addresses bind says loopback (set `notify.publicUrl`). */
export function servedUrl(address: { host: string; port: number } | undefined): string | undefined {
  if (!address) return undefined;
  const wildcard = address.host === '0.0.0.0' || address.host === '::' || address.host === '';
  const host = wildcard ? '127.0.0.1' : isIPv6(address.host) ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}

/** The escalation ladder (leader only: one replica pages people), signed ack links, Twilio acks, maintenance silences and each incident's notifications. */
export class NotifyPlugin implements CentralPlugin<'notify'> {
  readonly name = 'notify';
  readonly migrations = NOTIFY_MIGRATIONS;
  readonly prefix = '/api';
  private detach: (() => Promise<void>) | undefined;

  start(ctx: PluginContext<'notify'>): NotifyApi {
    const notifier = new Notifier({
      config: ctx.config,
      db: ctx.db,
      feed: ctx.incidents,
      sink: ctx.incidents,
      registry: ctx.metrics.registry,
      clock: ctx.clock,
      log: ctx.log,
      groupOf: (pointId) => ctx.fleet.groupOf(pointId),
      timeZone: ctx.central.timeZone,
      servedUrl: () => servedUrl(ctx.central.httpAddress()),
    });
    registerNotifyRoutes(ctx.routes, notifier, { db: ctx.db, clock: ctx.clock, config: ctx.config, log: ctx.log });
    this.detach = whileLeader(ctx.leader, ctx.log, () => notifier.start(), () => notifier.stop());
    return { announce: (request, timeoutMs) => notifier.announce(request, timeoutMs) };
  }

  async stop(): Promise<void> {
    await this.detach?.();
  }
}
