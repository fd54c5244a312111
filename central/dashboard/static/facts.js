import { h } from './dom.js';
import { t } from './i18n.js';
import { fmtTime, fmtWhen, fmtAge } from './clock.js';

/**
 * What a point's view says, told truthfully: only a connected point's mode and checks are current.
 * For any other the last report is shown greyed "as of" its time, and mode and checks are "unknown
 * since" it went offline (or silent). The fleet list and the point drawer both use these.
 */
export function isCurrent(p) {
  return p.connected;
}

/** How the point is connected; '' for a connected point (its badge says the rest). */
export function stateLine(p, now) {
  if (p.connected) return '';
  const since = fmtWhen(p.disconnectedSince ?? p.lastSeen, now);
  if (p.stale) return t('point.silentSince', { since });
  return p.disconnectedSince || p.lastSeen ? t('point.offlineSince', { since }) : t('point.neverSeen');
}

export function badge(p) {
  return h('span', { class: 'badge', dataset: { condition: p.condition } }, t(`cond.${p.condition}`));
}

function modeWord(mode) {
  return mode ? t(`mode.${mode}`) : '—';
}

/** The mode: "online for 3 h"; for a point not connected "unknown since 14:05 Tbilisi" and what it was, greyed. */
export function modeFacts(p, now) {
  if (isCurrent(p)) {
    return [h('span', { class: 'value', dataset: { mode: p.mode ?? 'none' } }, modeWord(p.mode)), p.modeSince ? h('small', { class: 'muted' }, ` ${t('point.for', { age: fmtAge(now - p.modeSince) })}`) : null];
  }
  return [
    h('span', { class: 'value unknown' }, t('point.unknownSince', { since: fmtTime(p.disconnectedSince ?? p.lastSeen, now) })),
    p.mode ? h('small', { class: 'was' }, ` ${t('point.wasAsOf', { value: modeWord(p.mode), time: fmtTime(p.lastSeen, now) })}`) : null,
  ];
}

export function checkWord(status) {
  return t(`check.status.${status}`);
}

/** One chip per check: current, or the last report greyed with "as of". */
export function checkChips(p, names, now) {
  const current = isCurrent(p);
  const chips = names.map((name) => {
    const check = p.checks[name];
    const status = check?.status ?? 'none';
    const title = check ? `${t(`check.${name}`)}: ${checkWord(status)} — ${check.detail}${current ? '' : ` (${t('point.asOf', { time: fmtTime(p.lastSeen, now) })})`}` : t('point.noReport');
    return h('span', { class: `chip${current ? '' : ' was'}`, dataset: { check: name, status: current ? status : 'unknown' }, title }, h('span', { class: 'chip-name' }, t(`check.${name}`)), ' ', h('b', {}, check ? checkWord(status) : '—'));
  });
  if (current) return chips;
  return [h('span', { class: 'value unknown' }, t('point.unknownSince', { since: fmtTime(p.disconnectedSince ?? p.lastSeen, now) })), h('span', { class: 'chips-was' }, ...chips), h('small', { class: 'was' }, t('point.asOf', { time: fmtTime(p.lastSeen, now) }))];
}

/** The checks a fleet row shows: the four always, temperature and disk health only while degraded or down. */
export function fleetCheckNames(p, always, hardware) {
  return [...always, ...hardware.filter((name) => ['degraded', 'down'].includes(p.checks[name]?.status))];
}

export function unsyncedFacts(p, now) {
  const text = p.unsynced === null ? '—' : p.unsynced ? t('point.unsyncedOldest', { n: p.unsynced, age: fmtAge(p.oldestUnsyncedAgeMs) }) : '0';
  if (isCurrent(p)) return [h('span', { class: 'value', dataset: { unsynced: p.unsynced ?? '' } }, text)];
  return [h('span', { class: 'value was' }, text), h('small', { class: 'was' }, ` ${t('point.asOf', { time: fmtTime(p.lastSeen, now) })}`)];
}

export function lastSeenFacts(p, now) {
  return [h('span', { class: 'value' }, p.lastSeen ? fmtWhen(p.lastSeen, now) : '—')];
}
