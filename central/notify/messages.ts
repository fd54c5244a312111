import type { Incident, Severity } from '../incidents/types.js';
import type { Channel, Language } from './config.js';
import type { NoticeKind } from './ladder.js';

/** What messages say about an incident; `openedAt` is when its escalation began. */
export type IncidentSnapshot = Pick<Incident, 'id' | 'key' | 'title' | 'severity' | 'detail' | 'pointId' | 'openedAt'>;

/**
 * One message in the forms the channels need: subject (e-mail), text (chat, e-mail body, webhook),
 * sms (one SMS with a short ack link), speech (calls, in `speechLanguage`).
 */
export interface Message {
  subject: string;
  text: string;
  sms?: string | undefined;
  speech: string;
  /** A BCP 47 tag Twilio's `<Say>` speaks (Twilio has no Georgian voice: Georgian contacts hear English). */
  speechLanguage?: string | undefined;
  ackUrl: string | null;
  /** A call's `<Gather>` action: where Twilio posts the key pressed (calls with `ackByKeypress`). */
  callbackUrl?: string | undefined;
}

export interface FailingSend {
  channel: Channel;
  recipient: string;
  attempts: number;
  error: string;
}

/** Everything a message needs besides the incident: who reads it, where, and the links it carries. */
export interface RenderOptions {
  language: Language;
  /** IANA zone the times are written in (central's `timeZone`). */
  timeZone: string;
  now: number;
  /** The signed ack link (chat, e-mail, webhook). */
  ackUrl: string | null;
  /** The short ack link an SMS carries. */
  shortAckUrl?: string | null;
  /** A failing channel (kind `failover`). */
  failing?: FailingSend;
  /** A runbook's notify step's own words (kind `step`). */
  stepText?: string;
  /** The all-clear of an incident this recipient was never paged about: one message says both. */
  unannounced?: boolean;
  /** When the all-clear this relapse follows was sent (kind `relapse`). */
  clearedAt?: number;
  /** A call's last words: press 1 (its `<Gather>` posts to this URL), or use the link in the SMS or e-mail. */
  callbackUrl?: string;
}

const CHANNEL_NAMES: Record<Channel, string> = { chat: 'chat', email: 'e-mail', sms: 'SMS', call: 'call', webhook: 'webhook' };

/** A channel's name in audit lines and timelines (English, like every audit line). */
export function channelName(channel: Channel): string {
  return CHANNEL_NAMES[channel];
}

interface Words {
  severity: Record<Severity, string>;
  resolved: string;
  relapse: string;
  failing: string;
  point: string;
  units: { s: string; min: string; h: string };
  channel: Record<Channel, string>;
  stillOpen: (age: string) => string;
  openSince: (time: string, age: string) => string;
  resolvedAt: (time: string, age: string) => string;
  healedUnseen: (from: string, to: string, age: string) => string;
  relapsed: (age: string) => string;
  failingDetail: (attempts: number, error: string) => string;
  failingFor: (channel: string, recipient: string) => string;
  since: (time: string) => string;
  acknowledge: string;
}

/** What calls say: Twilio speaks Russian and English (no Georgian voice). */
interface SpeechWords {
  tag: string;
  severity: Record<Severity, string>;
  alert: (severity: string) => string;
  resolved: string;
  ackByKey: string;
  ackByLink: string;
  noKey: string;
  acked: string;
  nothingToAck: string;
}

const WORDS: Record<Language, Words> = {
  en: {
    severity: { critical: 'CRITICAL', major: 'MAJOR', minor: 'MINOR', info: 'INFO' },
    resolved: 'RESOLVED',
    relapse: 'AGAIN',
    failing: 'NOTIFICATIONS FAILING',
    point: 'point',
    units: { s: 's', min: 'min', h: 'h' },
    channel: CHANNEL_NAMES,
    stillOpen: (age) => `still open after ${age}`,
    openSince: (time, age) => `Open since ${time} (${age}).`,
    resolvedAt: (time, age) => `Resolved at ${time}, after ${age}.`,
    healedUnseen: (from, to, age) => `Down from ${from} to ${to} (${age}); it was over before anyone was paged.`,
    relapsed: (age) => `Back ${age} after the all-clear.`,
    failingDetail: (attempts, error) => `${attempts} attempts failed, last: ${error}. Still retrying.`,
    failingFor: (channel, recipient) => `${channel} to ${recipient} for`,
    since: (time) => `since ${time}`,
    acknowledge: 'Acknowledge',
  },
  ru: {
    severity: { critical: 'КРИТИЧНО', major: 'ВАЖНО', minor: 'НЕСРОЧНО', info: 'ИНФО' },
    resolved: 'РЕШЕНО',
    relapse: 'СНОВА',
    failing: 'ОПОВЕЩЕНИЯ НЕ ДОХОДЯТ',
    point: 'точка',
    units: { s: 'с', min: 'мин', h: 'ч' },
    channel: { chat: 'чат', email: 'e-mail', sms: 'SMS', call: 'звонок', webhook: 'вебхук' },
    stillOpen: (age) => `не решено уже ${age}`,
    openSince: (time, age) => `Открыто с ${time} (${age}).`,
    resolvedAt: (time, age) => `Решено в ${time}, через ${age}.`,
    healedUnseen: (from, to, age) => `Сбой с ${from} до ${to} (${age}); закончился раньше, чем кого-то оповестили.`,
    relapsed: (age) => `Снова через ${age} после отбоя.`,
    failingDetail: (attempts, error) => `Неудачных попыток: ${attempts}, последняя: ${error}. Попытки продолжаются.`,
    failingFor: (channel, recipient) => `${channel} для ${recipient} по`,
    since: (time) => `с ${time}`,
    acknowledge: 'Подтвердить',
  },
  ka: {
    severity: { critical: 'კრიტიკული', major: 'მნიშვნელოვანი', minor: 'მცირე', info: 'ინფო' },
    resolved: 'მოგვარდა',
    relapse: 'ისევ',
    failing: 'შეტყობინებები ვერ იგზავნება',
    point: 'ფილიალი',
    units: { s: 'წმ', min: 'წთ', h: 'სთ' },
    channel: { chat: 'ჩატი', email: 'ელფოსტა', sms: 'SMS', call: 'ზარი', webhook: 'ვებჰუკი' },
    stillOpen: (age) => `ჯერ არ მოგვარებულა, ${age}`,
    openSince: (time, age) => `ღიაა ${time}-დან (${age}).`,
    resolvedAt: (time, age) => `მოგვარდა ${time}-ზე, ${age}-ში.`,
    healedUnseen: (from, to, age) => `გაუმართაობა ${from}-დან ${to}-მდე (${age}); დასრულდა, სანამ ვინმეს შევატყობინებდით.`,
    relapsed: (age) => `განმეორდა ${age} შემდეგ.`,
    failingDetail: (attempts, error) => `${attempts} მცდელობა ვერ შესრულდა, ბოლო: ${error}. ვცდილობთ ისევ.`,
    failingFor: (channel, recipient) => `${channel} ${recipient}-სთვის:`,
    since: (time) => `${time}-დან`,
    acknowledge: 'დადასტურება',
  },
};

const ENGLISH_SPEECH: SpeechWords = {
  tag: 'en-US',
  severity: { critical: 'critical', major: 'major', minor: 'minor', info: 'info' },
  alert: (severity) => `Hot Pot Spot, ${severity} alert.`,
  resolved: 'Hot Pot Spot: resolved.',
  ackByKey: 'Press 1 to acknowledge.',
  ackByLink: 'Acknowledge with the link in your SMS or e-mail.',
  noKey: 'No key was pressed. Acknowledge with the link in your SMS or e-mail.',
  acked: 'Acknowledged. The escalation is stopped. Goodbye.',
  nothingToAck: 'Nothing to acknowledge: it is resolved or acknowledged already. Goodbye.',
};

const SPEECH: Record<Language, SpeechWords> = {
  en: ENGLISH_SPEECH,
  ru: {
    tag: 'ru-RU',
    severity: { critical: 'критично', major: 'важно', minor: 'несрочно', info: 'инфо' },
    alert: (severity) => `Хот Пот Спот, тревога: ${severity}.`,
    resolved: 'Хот Пот Спот: решено.',
    ackByKey: 'Нажмите 1, чтобы подтвердить.',
    ackByLink: 'Подтвердите по ссылке в SMS или письме.',
    noKey: 'Клавиша не нажата. Подтвердите по ссылке в SMS или письме.',
    acked: 'Подтверждено. Эскалация остановлена. До свидания.',
    nothingToAck: 'Подтверждать нечего: уже решено или подтверждено. До свидания.',
  },
  // Twilio has no Georgian voice: Georgian contacts hear English.
  ka: ENGLISH_SPEECH,
};

/** A span of time in the reader's words: "<1 s", "40 s", "24 min", "2 h 5 min". */
export function formatAge(ms: number, language: Language = 'en'): string {
  const { units } = WORDS[language];
  if (ms < 1000) return `<1 ${units.s}`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} ${units.s}`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} ${units.min}`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} ${units.h} ${minutes % 60} ${units.min}` : `${hours} ${units.h}`;
}

/** A retry delay, in audit lines: seconds below a minute, then as `formatAge`. */
export function formatDelay(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : formatAge(ms);
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in `timeZone`: "13:02", or "13:02:11" with seconds. */
export function clockTime(ms: number, timeZone: string, seconds = false): string {
  const key = `${timeZone}|${seconds}`;
  let format = clockFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
    clockFormats.set(key, format);
  }
  return format.format(ms);
}

/** Date and time in `timeZone` for audit lines: "2025-01-15 08:00". */
export function localDateTime(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

const clip = (text: string, max: number, ellipsis = '…') => (text.length > max ? `${text.slice(0, Math.max(0, max - ellipsis.length))}${ellipsis}` : text);

/**
 * The detail without the title it often starts with ("main-server is down: GET … failed" under the
 * title "main-server is down"), so a message does not say the same thing twice.
 */
export function detailBeyondTitle(title: string, detail: string): string {
  const trimmed = detail.trim();
  if (trimmed.toLowerCase().startsWith(title.trim().toLowerCase())) return trimmed.slice(title.trim().length).replace(/^[\s:;,.—–-]+/, '');
  return trimmed;
}

/** Characters of the GSM 03.38 default alphabet (one septet each) and of its extension table (two). */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENDED = new Set('^{}\\[~]|€');

/** Septets `text` takes in GSM-7, or null when it needs UCS-2 (Cyrillic, Georgian). */
export function gsmLength(text: string): number | null {
  let length = 0;
  for (const char of text) {
    if (GSM_BASIC.has(char)) length += 1;
    else if (GSM_EXTENDED.has(char)) length += 2;
    else return null;
  }
  return length;
}

/** One SMS segment in GSM-7; Cyrillic and Georgian need UCS-2, where two segments carry 134 characters. */
export const SMS_GSM_LIMIT = 160;
export const SMS_UCS2_LIMIT = 134;

/** `head` clipped so that `head + tail` fits one SMS (two in UCS-2); the tail (the link) is never cut. */
function fitSms(head: string, tail: string): string {
  const whole = `${head}${tail}`;
  const gsm = gsmLength(whole);
  if (gsm !== null) {
    if (gsm <= SMS_GSM_LIMIT) return whole;
    const tailLength = gsmLength(tail)!;
    let cut = head;
    while (cut.length > 0 && gsmLength(`${cut}...`)! + tailLength > SMS_GSM_LIMIT) cut = cut.slice(0, -1);
    return `${cut}...${tail}`;
  }
  return [...whole].length <= SMS_UCS2_LIMIT ? whole : `${clip(head, SMS_UCS2_LIMIT - [...tail].length)}${tail}`;
}

/** Renders one notification in the reader's language, with times in the franchise's zone. */
export function renderMessage(kind: NoticeKind, incident: IncidentSnapshot, o: RenderOptions): Message {
  const w = WORDS[o.language];
  const voice = SPEECH[o.language];
  const level = w.severity[incident.severity];
  const where = incident.pointId && !incident.title.includes(incident.pointId) ? ` (${w.point} ${incident.pointId})` : '';
  const subjectOf = `${incident.title}${where}`;
  const age = formatAge(o.now - incident.openedAt, o.language);
  const opened = clockTime(incident.openedAt, o.timeZone);
  const detail = clip(detailBeyondTitle(incident.title, incident.detail), 300);
  const failing = o.failing;

  let heading: string;
  const lines: string[] = [];
  switch (kind) {
    case 'page':
      heading = `[${level}] ${subjectOf}`;
      lines.push(detail, w.openSince(opened, age));
      break;
    case 'reminder':
      heading = `[${level}] ${subjectOf} — ${w.stillOpen(age)}`;
      lines.push(detail, w.openSince(opened, age));
      break;
    case 'relapse':
      heading = `[${level} · ${w.relapse}] ${subjectOf}`;
      lines.push(detail, ...(o.clearedAt !== undefined ? [w.relapsed(formatAge(o.now - o.clearedAt, o.language))] : []));
      break;
    case 'step':
      heading = `[${level}] ${o.stepText ?? subjectOf}`;
      lines.push(`${subjectOf} · ${w.since(opened)}`);
      break;
    case 'resolved':
      heading = `[${w.resolved}] ${subjectOf}`;
      if (o.unannounced) lines.push(w.healedUnseen(clockTime(incident.openedAt, o.timeZone, true), clockTime(o.now, o.timeZone, true), age), detail);
      else lines.push(w.resolvedAt(clockTime(o.now, o.timeZone), age));
      break;
    case 'failover':
      heading = `[${w.failing}] ${failing ? w.failingFor(w.channel[failing.channel], failing.recipient) : ''} ${subjectOf}`.replace(/\s+/g, ' ');
      if (failing) lines.push(w.failingDetail(failing.attempts, clip(failing.error, 200)));
      break;
  }
  const ackUrl = kind === 'resolved' ? null : o.ackUrl;
  if (ackUrl) lines.push(`${w.acknowledge}: ${ackUrl}`);
  const shortAck = kind === 'resolved' ? null : (o.shortAckUrl ?? null);
  const smsHead = kind === 'resolved' ? `${heading}: ${age}` : kind === 'step' ? heading : `${heading} ${w.since(opened)}`;
  const speech =
    kind === 'resolved'
      ? `${voice.resolved} ${subjectOf}.`
      : [
          voice.alert(voice.severity[incident.severity]),
          kind === 'step' && o.stepText ? `${o.stepText}.` : '',
          `${subjectOf}.`,
          detail ? `${clip(detail, 200)}.` : '',
          o.callbackUrl ? voice.ackByKey : voice.ackByLink,
        ]
          .filter(Boolean)
          .join(' ');
  return {
    subject: heading,
    text: [heading, ...lines].filter(Boolean).join('\n'),
    sms: fitSms(smsHead, shortAck ? ` ${w.acknowledge}: ${shortAck}` : ''),
    speech,
    speechLanguage: voice.tag,
    ackUrl,
    ...(o.callbackUrl && kind !== 'resolved' ? { callbackUrl: o.callbackUrl } : {}),
  };
}

/** What a call says around its message, in the words and voice its reader hears. */
export function callWords(language: Language): Pick<SpeechWords, 'tag' | 'noKey' | 'acked' | 'nothingToAck'> {
  return SPEECH[language];
}
