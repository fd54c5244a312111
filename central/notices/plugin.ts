import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { MAX_NOTICES, NoticeSeverity, NoticeTexts, type Notice } from '../../sync/schemas.js';
import { CentralErrors } from '../errors.js';
import { whileLeader } from '../leader.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { NOTICES_MIGRATIONS, NoticeStore, type StoredNotice } from './store.js';

/** `POST /api/notices`. */
export const NoticeRequest = z.strictObject({ severity: NoticeSeverity, text: NoticeTexts });
export type NoticeRequest = z.output<typeof NoticeRequest>;

/** What the notices plugin offers: runbooks post and clear notices, the status page reads them. */
export interface NoticesApi {
  /** Stores a notice and publishes the current ones; `source` is `runbook:<target>` or `user:<name>`. */
  post(notice: NoticeRequest, source: string, by: string): Promise<StoredNotice>;
  /** Clears every current notice of `source` (a runbook's, once its target is verified up); returns their ids. */
  clearSource(source: string, by: string): Promise<string[]>;
  /** The notices in force, oldest first. */
  current(): Notice[];
}

declare module '../plugin.js' {
  interface PluginApis {
    notices: NoticesApi;
  }
}

const published = ({ id, severity, text, since }: StoredNotice): Notice => ({ id, severity, text, since });

/**
 * Notices for the staff at every point: stored in central's SQLite and published retained on
 * `notices` (the whole current list, `[]` when none) after every change and again on every
 * connection to the broker, so a point that connects, or a broker that lost its retained
 * messages, gets the list as it is. One writer: the leader (its runbooks post notices too), so
 * replicas never publish lists that overwrite each other.
 */
export class NoticesPlugin implements CentralPlugin<'notices'> {
  readonly name = 'notices';
  readonly migrations = NOTICES_MIGRATIONS;
  readonly prefix = '/api/notices';
  private detach: (() => Promise<void>) | undefined;

  start(ctx: PluginContext<'notices'>): NoticesApi {
    const store = new NoticeStore(ctx.db);
    const current = () => store.current().map(published);
    const publish = async (why: string) => {
      const notices = current();
      try {
        await ctx.mqtt.publish('notices', {}, notices);
        ctx.log.info({ notices: notices.map((n) => n.id), why }, 'notices published');
      } catch (error) {
        // Stored all the same: the next connection to the broker publishes them.
        ctx.log.warn({ err: (error as Error).message, why }, 'notices not published yet; they go out when central reconnects to the broker');
      }
    };
    const api: NoticesApi = {
      post: async (notice, source, by) => {
        if (!ctx.leader.isLeader()) throw CentralErrors.notLeader('notices');
        if (store.current().length >= MAX_NOTICES) throw CentralErrors.tooManyNotices(MAX_NOTICES);
        const stored = store.add(notice, source, by, ctx.clock.now());
        await publish(`posted ${stored.id} by ${by}`);
        return stored;
      },
      clearSource: async (source, by) => {
        const ids = store.clearSource(source, by, ctx.clock.now());
        if (ids.length) await publish(`${source} cleared by ${by}`);
        return ids;
      },
      current,
    };

    ctx.routes.get('', 'viewer', () => ({ status: 200, body: store.current() }));
    ctx.routes.post('', 'operator', async (req) => {
      const by = req.principal!.name;
      return { status: 201, body: await api.post(parseWith(NoticeRequest, req.body, 'notice'), `user:${by}`, by) };
    });
    ctx.routes.delete('/:id', 'operator', async (req) => {
      if (!ctx.leader.isLeader()) throw CentralErrors.notLeader('notices');
      const id = req.params.id!;
      const before = store.get(id);
      if (!before) throw CentralErrors.noNotice(id);
      const cleared = store.clear(id, req.principal!.name, ctx.clock.now())!;
      if (before.clearedAt === null) await publish(`${id} cleared by ${req.principal!.name}`);
      return { status: 200, body: cleared };
    });
    ctx.bus.onBrokerConnected(this, () => (ctx.leader.isLeader() ? publish('broker connection') : undefined));
    // Taking the lead (a single central: at start) publishes the list this replica holds.
    this.detach = whileLeader(ctx.leader, ctx.log, () => (ctx.mqtt.connected ? publish('leadership') : undefined), () => undefined);
    return api;
  }

  async stop(): Promise<void> {
    await this.detach?.();
  }
}
