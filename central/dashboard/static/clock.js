import { t } from './i18n.js';

/**
 * One clock for the whole page: every time is shown in central's timeZone (not the browser's), in one
 * format — "14:05 Tbilisi", with the day before it when it is not today — and a relative age beside it.
 */
let zone = 'Asia/Tbilisi';
let timeFormat;
let dayFormat;
let yearFormat;
let fullFormat;

export function setTimeZone(timeZone) {
  zone = timeZone;
  const base = { timeZone, hourCycle: 'h23' };
  timeFormat = new Intl.DateTimeFormat('en-GB', { ...base, hour: '2-digit', minute: '2-digit' });
  // "05.12": the same in every language, whatever the browser's locale would print.
  const dayParts = new Intl.DateTimeFormat('en-GB', { ...base, day: '2-digit', month: '2-digit' });
  dayFormat = {
    format(ts) {
      const part = Object.fromEntries(dayParts.formatToParts(ts).map((p) => [p.type, p.value]));
      return `${part.day}.${part.month}`;
    },
  };
  yearFormat = new Intl.DateTimeFormat('en-GB', { ...base, year: 'numeric' });
  fullFormat = new Intl.DateTimeFormat('en-GB', { ...base, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'shortOffset' });
}
setTimeZone(zone);

export function timeZone() {
  return zone;
}

/** "Tbilisi" for Asia/Tbilisi: the name that goes after every time. */
export function zoneName() {
  return zone.split('/').pop().replace(/_/g, ' ');
}

/** "14:05 Tbilisi" today, "05.12 14:05 Tbilisi" another day, "05.12.2025 14:05 Tbilisi" another year. */
export function fmtTime(ts, now = Date.now()) {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return '—';
  const day = dayFormat.format(ts);
  const date = day === dayFormat.format(now) ? '' : yearFormat.format(ts) === yearFormat.format(now) ? `${day} ` : `${day}.${yearFormat.format(ts)} `;
  return `${date}${timeFormat.format(ts)} ${zoneName()}`;
}

/** The exact moment, with seconds and offset: a time's tooltip. */
export function fmtFull(ts) {
  return Number.isFinite(ts) ? fullFormat.format(ts) : '';
}

/** "4 min", "2 h", "3 d" in the page's language. */
export function fmtAge(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t('age.s', { n: s });
  const m = Math.round(s / 60);
  if (m < 120) return t('age.min', { n: m });
  const hours = Math.round(m / 60);
  return hours < 48 ? t('age.h', { n: hours }) : t('age.d', { n: Math.round(hours / 24) });
}

/** "14:05 Tbilisi (4 min ago)", or "(in 3 h)" for a time ahead. */
export function fmtWhen(ts, now = Date.now()) {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return '—';
  const relative = ts > now + 1000 ? t('age.in', { age: fmtAge(ts - now) }) : t('age.ago', { age: fmtAge(now - ts) });
  return `${fmtTime(ts, now)} (${relative})`;
}

export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return '—';
  return ms < 1000 ? t('age.ms', { n: Math.round(ms) }) : ms < 60_000 ? t('age.sec1', { n: (ms / 1000).toFixed(1) }) : fmtAge(ms);
}

export function fmtBytes(bytes) {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const ISO_UTC = /\b\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z\b/g;

/** Text central wrote with UTC ISO times in it ("offline since 2026-12-06T03:46:04Z"), in the one clock. */
export function localTimes(text, now = Date.now()) {
  return typeof text === 'string' ? text.replace(ISO_UTC, (iso) => fmtTime(Date.parse(iso), now)) : text;
}
