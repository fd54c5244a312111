import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { uuidv7 } from '../../lib/uuidv7.js';
import { CHANNELS, SEVERITIES, type Channel } from './config.js';
import { NOTICE_KINDS, type EscalationEvent, type EscalationState, type NoticeKind, type NotificationStatus, type SendRecord } from './ladder.js';
import type { IncidentSnapshot, Message } from './messages.js';

/** Append only (central/migrations.ts): entry N moves these tables from version N to N+1. */
export const NOTIFY_MIGRATIONS: readonly string[] = [
  `
CREATE TABLE IF NOT EXISTS notify_escalations (
  id TEXT PRIMARY KEY,
  dedup_key TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  detail TEXT NOT NULL,
  point_id TEXT,
  parent_id TEXT,
  opened_at INTEGER NOT NULL,
  events TEXT NOT NULL DEFAULT '[]',
  store_acked_at INTEGER,
  closed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notify_escalations_by_key ON notify_escalations (dedup_key, opened_at);
CREATE INDEX IF NOT EXISTS notify_escalations_open ON notify_escalations (closed);
CREATE TABLE IF NOT EXISTS notify_incidents (
  incident_id TEXT PRIMARY KEY,
  escalation_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_notifications (
  id TEXT PRIMARY KEY,
  escalation_id TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  slot TEXT NOT NULL,
  kind TEXT NOT NULL,
  channel TEXT NOT NULL,
  contact TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  last_error TEXT,
  message TEXT NOT NULL,
  failover_raised INTEGER NOT NULL DEFAULT 0,
  UNIQUE (escalation_id, slot, channel, contact)
);
CREATE INDEX IF NOT EXISTS notify_notifications_queue ON notify_notifications (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS notify_attempts (
  id INTEGER PRIMARY KEY,
  notification_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  at INTEGER NOT NULL,
  ok INTEGER,
  error TEXT
);
CREATE INDEX IF NOT EXISTS notify_attempts_by_channel ON notify_attempts (channel, at);
CREATE TABLE IF NOT EXISTS notify_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  // Maintenance silences: alerts that match open no page while one is in force.
  `CREATE TABLE notify_silences (
  id TEXT PRIMARY KEY,
  point_id TEXT,
  grp TEXT,
  rule TEXT,
  until INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER,
  ended_by TEXT
);
CREATE INDEX notify_silences_current ON notify_silences (ended_at, until);`,
  // Short ack links (an SMS with its link fits one message): a random code per incident and recipient.
  `CREATE TABLE notify_ack_codes (
  code TEXT PRIMARY KEY,
  incident_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (incident_id, recipient)
);
CREATE INDEX notify_notifications_by_contact ON notify_notifications (channel, contact, status, sent_at);`,
];

/** Characters of a short ack code: no look-alikes (0/O, 1/l/I), so a code read aloud or retyped still works. */
const CODE_ALPHABET = '23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ';
/** 12 of 56 characters: about 70 bits, as hard to guess as the signed link's purpose needs. */
export const ACK_CODE_LENGTH = 12;
export const ACK_CODE = new RegExp(`^[${CODE_ALPHABET}]{${ACK_CODE_LENGTH}}$`);

// Rows are parsed like any other input: a hand-edited or older database gives a clear error, not a wrong page.
const eventsSchema = z.array(
  z.object({ type: z.enum(['ack', 'resolve', 'reopen', 'silence', 'unsilence', 'raise']), at: z.number(), by: z.string().optional() }),
);
const messageSchema = z.object({
  subject: z.string(),
  text: z.string(),
  sms: z.string().optional(),
  speech: z.string(),
  speechLanguage: z.string().optional(),
  ackUrl: z.string().nullable(),
  callbackUrl: z.string().optional(),
});

const escalationRow = z
  .object({
    id: z.string(),
    dedup_key: z.string(),
    incident_id: z.string(),
    severity: z.enum(SEVERITIES),
    title: z.string(),
    detail: z.string(),
    point_id: z.string().nullable(),
    parent_id: z.string().nullable(),
    opened_at: z.number(),
    events: z.string().transform((text) => eventsSchema.parse(JSON.parse(text))),
    store_acked_at: z.number().nullable(),
  })
  .transform((row) => ({
    id: row.id,
    incident: {
      id: row.incident_id,
      key: row.dedup_key,
      title: row.title,
      severity: row.severity,
      detail: row.detail,
      pointId: row.point_id,
      openedAt: row.opened_at,
    } satisfies IncidentSnapshot as IncidentSnapshot,
    /** Set while the current incident hangs under another one: it does not page on its own then. */
    parentId: row.parent_id,
    /** The notifier's clock at opening: where the ladder's minutes count from. */
    openedAt: row.opened_at,
    events: row.events as EscalationEvent[],
    /** The incident store's `ackedAt` last applied, to tell a new ack from a repeated event. */
    storeAckedAt: row.store_acked_at,
  }));

/** One paging effort per dedup key, across the incidents a flapping condition re-opens. */
export type Escalation = z.output<typeof escalationRow> & EscalationState;

const notificationRow = z
  .object({
    id: z.string(),
    escalation_id: z.string(),
    incident_id: z.string(),
    slot: z.string(),
    kind: z.enum(NOTICE_KINDS) satisfies z.ZodType<NoticeKind>,
    channel: z.enum(CHANNELS),
    contact: z.string(),
    status: z.enum(['pending', 'sent', 'failed', 'skipped', 'cancelled']) satisfies z.ZodType<NotificationStatus>,
    attempts: z.number(),
    next_attempt_at: z.number(),
    sent_at: z.number().nullable(),
    last_error: z.string().nullable(),
    message: z.string().transform((text): Message => messageSchema.parse(JSON.parse(text))),
    failover_raised: z.number().transform((v) => v === 1),
  })
  .transform((row) => ({
    id: row.id,
    escalationId: row.escalation_id,
    incidentId: row.incident_id,
    slot: row.slot,
    kind: row.kind,
    channel: row.channel,
    contact: row.contact,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    sentAt: row.sent_at,
    lastError: row.last_error,
    message: row.message,
    failoverRaised: row.failover_raised,
  }));

export type Notification = z.output<typeof notificationRow>;

const toEscalation = (raw: unknown): Escalation => escalationRow.parse(raw);
const toNotification = (raw: unknown): Notification => notificationRow.parse(raw);

export interface NewNotification {
  escalationId: string;
  incidentId: string;
  slot: string;
  kind: NoticeKind;
  channel: Channel;
  contact: string;
  status: 'pending' | 'skipped';
  lastError?: string;
  message: Message;
}

/** The notifier's durable state in central's SQLite: escalations, the notification queue, attempts. */
export class NotifyStore {
  constructor(private readonly db: Database.Database) {}

  meta(key: string, create: () => string): string {
    this.db.prepare('INSERT OR IGNORE INTO notify_meta (key, value) VALUES (?, ?)').run(key, create());
    return (this.db.prepare('SELECT value FROM notify_meta WHERE key = ?').get(key) as { value: string }).value;
  }

  createEscalation(incident: IncidentSnapshot): Escalation {
    const id = uuidv7();
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO notify_escalations (id, dedup_key, incident_id, severity, title, detail, point_id, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, incident.key, incident.id, incident.severity, incident.title, incident.detail, incident.pointId, incident.openedAt);
      this.mapIncident(incident.id, id);
    })();
    return { id, incident, parentId: null, openedAt: incident.openedAt, events: [], storeAckedAt: null };
  }

  mapIncident(incidentId: string, escalationId: string): void {
    this.db.prepare('INSERT OR REPLACE INTO notify_incidents (incident_id, escalation_id) VALUES (?, ?)').run(incidentId, escalationId);
  }

  /** Points the escalation at its current incident, its latest title, severity and detail, and its parent. */
  updateIncident(escalationId: string, incident: Omit<IncidentSnapshot, 'openedAt' | 'key'>, parentId: string | null): void {
    this.db
      .prepare('UPDATE notify_escalations SET incident_id = ?, severity = ?, title = ?, detail = ?, point_id = ?, parent_id = ? WHERE id = ?')
      .run(incident.id, incident.severity, incident.title, incident.detail, incident.pointId, parentId, escalationId);
  }

  addEvent(escalation: Escalation, event: EscalationEvent, storeAckedAt = escalation.storeAckedAt): void {
    escalation.events.push(event);
    escalation.storeAckedAt = storeAckedAt;
    this.db
      .prepare('UPDATE notify_escalations SET events = ?, store_acked_at = ? WHERE id = ?')
      .run(JSON.stringify(escalation.events), storeAckedAt, escalation.id);
  }

  escalation(id: string): Escalation | null {
    const row = this.db.prepare('SELECT * FROM notify_escalations WHERE id = ?').get(id);
    return row ? toEscalation(row) : null;
  }

  latestForKey(key: string): Escalation | null {
    const row = this.db.prepare('SELECT * FROM notify_escalations WHERE dedup_key = ? AND closed = 0 ORDER BY opened_at DESC, id DESC LIMIT 1').get(key);
    return row ? toEscalation(row) : null;
  }

  forIncident(incidentId: string): Escalation | null {
    const row = this.db
      .prepare('SELECT e.* FROM notify_escalations e JOIN notify_incidents i ON i.escalation_id = e.id WHERE i.incident_id = ?')
      .get(incidentId);
    return row ? toEscalation(row) : null;
  }

  openEscalations(): Escalation[] {
    return this.db.prepare('SELECT * FROM notify_escalations WHERE closed = 0 ORDER BY opened_at').all().map(toEscalation);
  }

  close(escalationId: string): void {
    this.db.prepare('UPDATE notify_escalations SET closed = 1 WHERE id = ?').run(escalationId);
  }

  sends(escalationId: string): SendRecord[] {
    return this.notifications(escalationId).map(({ slot, kind, channel, contact, status, sentAt }) => ({ slot, kind, channel, contact, status, sentAt }));
  }

  /** Queues a notification unless its (escalation, slot, channel, contact) exists: the dedup that survives restarts. */
  enqueue(n: NewNotification, now: number): Notification | null {
    const id = uuidv7();
    const inserted = this.db
      .prepare(
        `INSERT OR IGNORE INTO notify_notifications
           (id, escalation_id, incident_id, slot, kind, channel, contact, status, next_attempt_at, created_at, last_error, message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, n.escalationId, n.incidentId, n.slot, n.kind, n.channel, n.contact, n.status, now, now, n.lastError ?? null, JSON.stringify(n.message));
    return inserted.changes === 1 ? this.notification(id) : null;
  }

  notification(id: string): Notification | null {
    const row = this.db.prepare('SELECT * FROM notify_notifications WHERE id = ?').get(id);
    return row ? toNotification(row) : null;
  }

  notifications(escalationId: string): Notification[] {
    return this.db.prepare('SELECT * FROM notify_notifications WHERE escalation_id = ? ORDER BY created_at, id').all(escalationId).map(toNotification);
  }

  dueNotifications(now: number, limit: number): Notification[] {
    return this.db
      .prepare("SELECT * FROM notify_notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?")
      .all(now, limit)
      .map(toNotification);
  }

  pendingCount(escalationId: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM notify_notifications WHERE escalation_id = ? AND status = 'pending'").get(escalationId) as { n: number }).n;
  }

  pendingByChannel(): { channel: string; n: number }[] {
    return this.db.prepare("SELECT channel, count(*) AS n FROM notify_notifications WHERE status = 'pending' GROUP BY channel").all() as { channel: string; n: number }[];
  }

  /** Cancels queued notifications of these kinds; returns the ones cancelled. */
  cancelPending(escalationId: string, kinds: readonly NoticeKind[], reason: string): Notification[] {
    const placeholders = kinds.map(() => '?').join(', ');
    return this.db
      .prepare(
        `UPDATE notify_notifications SET status = 'cancelled', last_error = ?
          WHERE escalation_id = ? AND status = 'pending' AND kind IN (${placeholders}) RETURNING *`,
      )
      .all(reason, escalationId, ...kinds)
      .map(toNotification);
  }

  /** Holds a notification back (rate limit, quiet hours, backoff) without counting an attempt. */
  postpone(id: string, until: number, reason: string): void {
    this.db.prepare('UPDATE notify_notifications SET next_attempt_at = ?, last_error = ? WHERE id = ?').run(until, reason, id);
  }

  /**
   * Counts an attempt before it is made (so the rate limit sees sends in flight) and books its retry, so a
   * crash mid-send retries (at least once) instead of losing the page. Returns the attempt's number and row.
   */
  beginAttempt(n: Notification, at: number, retryAt: number): { attempts: number; attemptId: number } {
    return this.db.transaction(() => {
      this.db.prepare('UPDATE notify_notifications SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?').run(retryAt, n.id);
      const attemptId = Number(this.db.prepare('INSERT INTO notify_attempts (notification_id, channel, at) VALUES (?, ?, ?)').run(n.id, n.channel, at).lastInsertRowid);
      const { attempts } = this.db.prepare('SELECT attempts FROM notify_notifications WHERE id = ?').get(n.id) as { attempts: number };
      return { attempts, attemptId };
    })();
  }

  endAttempt(attemptId: number, error: string | null): void {
    this.db.prepare('UPDATE notify_attempts SET ok = ?, error = ? WHERE id = ?').run(error === null ? 1 : 0, error, attemptId);
  }

  finish(id: string, status: 'sent' | 'failed' | 'skipped', at: number, error: string | null): void {
    this.db
      .prepare('UPDATE notify_notifications SET status = ?, sent_at = CASE WHEN ? = \'sent\' THEN ? ELSE sent_at END, last_error = ? WHERE id = ?')
      .run(status, status, at, error, id);
  }

  /** Turns a queued notification into another message (a first report whose incident has resolved meanwhile). */
  rewrite(id: string, kind: NoticeKind, message: Message): void {
    this.db.prepare("UPDATE notify_notifications SET kind = ?, message = ? WHERE id = ? AND status = 'pending'").run(kind, JSON.stringify(message), id);
  }

  /** The short ack code of an incident for one recipient, made on first use. */
  ackCode(incidentId: string, recipient: string, now: number): string {
    const existing = this.db.prepare('SELECT code FROM notify_ack_codes WHERE incident_id = ? AND recipient = ?').get(incidentId, recipient) as { code: string } | undefined;
    if (existing) return existing.code;
    for (;;) {
      const code = Array.from({ length: ACK_CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
      const inserted = this.db.prepare('INSERT OR IGNORE INTO notify_ack_codes (code, incident_id, recipient, created_at) VALUES (?, ?, ?, ?)').run(code, incidentId, recipient, now);
      if (inserted.changes === 1) return code;
    }
  }

  /** What a short ack code stands for. */
  ackCodeTarget(code: string): { incidentId: string; recipient: string } | null {
    const row = this.db.prepare('SELECT incident_id, recipient FROM notify_ack_codes WHERE code = ?').get(code) as { incident_id: string; recipient: string } | undefined;
    return row ? { incidentId: row.incident_id, recipient: row.recipient } : null;
  }

  /** Open escalations a contact was told about on `channel`, the latest first (an SMS reply acks the first still unacked). */
  escalationsToldTo(channel: Channel, contact: string): Escalation[] {
    return this.db
      .prepare(
        `SELECT e.*, max(n.sent_at) AS last_sent FROM notify_notifications n JOIN notify_escalations e ON e.id = n.escalation_id
          WHERE n.channel = ? AND n.contact = ? AND n.status = 'sent' AND n.kind <> 'resolved' AND e.closed = 0
          GROUP BY e.id ORDER BY last_sent DESC`,
      )
      .all(channel, contact)
      .map(toEscalation);
  }

  markFailoverRaised(id: string): void {
    this.db.prepare('UPDATE notify_notifications SET failover_raised = 1 WHERE id = ?').run(id);
  }

  /** Attempts on a channel since `since`, oldest first: what the rate limit counts. */
  attemptTimes(channel: Channel, since: number): number[] {
    return (this.db.prepare('SELECT at FROM notify_attempts WHERE channel = ? AND at > ? ORDER BY at').all(channel, since) as { at: number }[]).map((r) => r.at);
  }
}
