import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { NoticeBoard } from '../../agent/notices.js';
import { OrderStore } from '../../agent/store.js';
import { tempDir } from '../helpers/hotpot.js';

describe("the agent's notice board", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the last notices central sent across a restart with no link, and starts empty on a new box', () => {
    const dir = tempDir('board');
    dirs.push(dir);
    const file = join(dir, 'agent.db');
    const store = new OrderStore(file, 'tbilisi-01');
    expect(new NoticeBoard(store, silentLogger()).body).toEqual({ notices: [], updatedAt: null });
    const notice = { id: 'n1', severity: 'critical' as const, text: { ru: 'Сервер недоступен.', en: 'The server is down.', ka: 'სერვერი მიუწვდომელია.' }, since: 1 };
    new NoticeBoard(store, silentLogger()).accept([notice], 5);
    store.close();
    const reopened = new OrderStore(file, 'tbilisi-01');
    expect(new NoticeBoard(reopened, silentLogger()).body).toEqual({ notices: [notice], updatedAt: 5 });
    // A damaged cache is as good as none.
    reopened.setMeta('notices', '{not json');
    expect(new NoticeBoard(reopened, silentLogger()).body).toEqual({ notices: [], updatedAt: null });
    reopened.close();
  });
});
