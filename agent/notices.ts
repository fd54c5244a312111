import type { Logger } from '../lib/log.js';
import { NoticesMessage, type Notice } from '../sync/schemas.js';
import type { OrderStore } from './store.js';

const CACHE_KEY = 'notices';

/** What `GET /api/notices` answers: central's current notices and when this box last heard them. */
export interface NoticesBody {
  notices: Notice[];
  /** When central's retained `notices` last arrived (null: never, on this box). */
  updatedAt: number | null;
}

/**
 * Central's notices for the staff (the retained `notices` topic), kept in SQLite so a box that
 * restarts with no link still shows the last ones it heard. The agent only reads them.
 */
export class NoticeBoard {
  private current: NoticesBody = { notices: [], updatedAt: null };

  constructor(private readonly store: OrderStore, private readonly log: Logger) {
    const cached = store.getMeta(CACHE_KEY);
    if (!cached) return;
    try {
      const body = JSON.parse(cached) as { notices?: unknown; updatedAt?: unknown };
      const notices = NoticesMessage.safeParse(body.notices);
      if (notices.success && typeof body.updatedAt === 'number') this.current = { notices: notices.data, updatedAt: body.updatedAt };
    } catch {
      // A damaged cache is as good as none: central's retained notices arrive on connect.
    }
  }

  get body(): NoticesBody {
    return this.current;
  }

  /** A retained `notices` message from central, already validated. */
  accept(notices: Notice[], now: number): void {
    this.current = { notices, updatedAt: now };
    this.store.setMeta(CACHE_KEY, JSON.stringify(this.current));
    this.log.info({ notices: notices.map((n) => n.id) }, 'notices from central');
  }
}
