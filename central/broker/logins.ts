import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { brokerUser, CENTRAL_MQTT_USER, type BrokerUser } from './acl.js';
import { DECOY_ENTRY, parsePasswordFile, passwordMatches, type PasswordEntry } from './password-file.js';

/** A client's login: who it is and the stored hash it proved (null: central's own in-process login). */
export interface Login {
  username: string;
  user: BrokerUser;
  stored: string | null;
}

/** How often the file is stat'ed, in case a watch event is missed (NFS, some editors, overlay file systems). */
const POLL_MS = 2000;
/** A change is read this long after the last watch event, so a file still being written is not read half-done. */
const SETTLE_MS = 200;

/**
 * The embedded broker's logins: every user in the password file, plus central's own login, whose
 * password is made at start and lives only in this process. The file is read again when it
 * changes, and `onChange` listeners get the logins then in force.
 */
export class BrokerLogins {
  /** Central's own link logs in with this; it is never written or logged. */
  readonly central = { username: CENTRAL_MQTT_USER, password: randomBytes(32).toString('base64url') };
  private readonly centralDigest = digest(this.central.password);
  private entries = new Map<string, PasswordEntry>();
  private stamp = '';
  /** Counts reloads. */
  private generation = 0;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private readonly listeners: ((entries: ReadonlyMap<string, PasswordEntry>) => void)[] = [];

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Reads the file and starts watching it. */
  start(): void {
    this.reload();
    const dir = dirname(this.file);
    if (existsSync(dir)) {
      try {
        this.watcher = watch(dir, (_event, name) => {
          if (name === null || name === basename(this.file)) this.scheduleReload();
        });
        this.watcher.on('error', (error) => this.log.warn({ err: error.message, file: this.file }, 'cannot watch the broker password file; polling it'));
      } catch (error) {
        this.log.warn({ err: (error as Error).message, file: this.file }, 'cannot watch the broker password file; polling it');
      }
    }
    this.poller = setInterval(() => this.reloadIfChanged(), POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poller);
    clearTimeout(this.settle);
  }

  /** Called after every reload with the logins now in force. */
  onChange(listener: (entries: ReadonlyMap<string, PasswordEntry>) => void): void {
    this.listeners.push(listener);
  }

  /** Whether a client that proved `login` may stay, given the logins now in force. */
  static holds(login: Login, entries: ReadonlyMap<string, PasswordEntry>): boolean {
    return login.stored === null || entries.get(login.username)?.stored === login.stored;
  }

  /**
   * The login `username`/`password` prove, or null. A failure first reads the file again if it
   * changed, so a point provisioned a moment ago gets in on its first try.
   */
  async check(username: string, password: string): Promise<Login | null> {
    const generation = this.generation;
    const login = await this.verify(username, password);
    if (login) return login;
    this.reloadIfChanged();
    // Read again since this check began (by this one or a concurrent one): try the new logins.
    return this.generation === generation ? null : this.verify(username, password);
  }

  private async verify(username: string, password: string): Promise<Login | null> {
    const user = brokerUser(username);
    if (user?.kind === 'central' && username === this.central.username && timingSafeEqual(digest(password), this.centralDigest)) {
      return { username, user, stored: null };
    }
    const entry = (user && this.entries.get(username)) || undefined;
    const matches = await passwordMatches(entry ?? DECOY_ENTRY, password);
    return user && entry && matches ? { username, user, stored: entry.stored } : null;
  }

  private scheduleReload(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.reloadIfChanged(), SETTLE_MS);
  }

  /** Reads the file again when its inode, size or mtime moved. */
  reloadIfChanged(): void {
    if (fileStamp(this.file) !== this.stamp) this.reload();
  }

  private reload(): void {
    const { file, log } = this;
    this.stamp = fileStamp(file);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ err: (error as Error).message, file }, 'cannot read the broker password file; keeping the logins read before');
        return;
      }
      log.warn({ file }, 'no broker password file yet: points cannot log in until `hotpot provision-point <pointId> --passwd-file` writes it');
    }
    const { entries, problems } = parsePasswordFile(text);
    const strangers = [...entries.keys()].filter((username) => brokerUser(username) === null);
    for (const username of strangers) entries.delete(username);
    if (problems.length || strangers.length) {
      log.error({ file, problems, strangers }, 'broker password file: these lines log nobody in (a username must be a pointId or one of central\'s users)');
    }
    this.entries = entries;
    this.generation++;
    log.info({ file, logins: entries.size }, 'broker logins read');
    for (const listener of this.listeners) listener(entries);
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function fileStamp(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
