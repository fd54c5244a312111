import { createHash } from 'node:crypto';
import type { PointCondition } from '../fleet.js';
import { POINT_CONDITIONS } from '../fleet.js';
import type { ComponentId, ComponentState, StatusSnapshot } from './snapshot.js';

export const PAGE_LANGUAGES = ['ka', 'ru', 'en'] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

interface PageWords {
  name: string;
  heading: string;
  overall: Record<StatusSnapshot['overall'], string>;
  component: Record<ComponentId, string>;
  state: Record<ComponentState, string>;
  since: (time: string) => string;
  services: string;
  notices: string;
  noNotices: string;
  points: string;
  condition: Record<PointCondition, string>;
  incidents: string;
  severity: Record<string, string>;
  beingWorkedOn: string;
  updated: (time: string, zone: string) => string;
}

const WORDS: Record<PageLanguage, PageWords> = {
  en: {
    name: 'English',
    heading: 'Service status',
    overall: { operational: 'All systems are working', degraded: 'Some services have problems', outage: 'Outage' },
    component: { mainServer: 'Main server', database: 'Database', chain: 'Blockchain' },
    state: { up: 'Working', down: 'Down', unknown: 'Unknown', 'not-monitored': 'Not monitored' },
    since: (time) => `since ${time}`,
    services: 'Services',
    notices: 'Notices',
    noNotices: 'No notices.',
    points: 'Restaurants',
    condition: { ok: 'working', degraded: 'with warnings', down: 'with a device down', manual: 'taking orders by hand', offline: 'offline' },
    incidents: 'Open incidents',
    severity: { critical: 'Critical', major: 'Major', minor: 'Minor', info: 'Info', warning: 'Warning' },
    beingWorkedOn: 'being worked on',
    updated: (time, zone) => `Updated ${time} (${zone})`,
  },
  ru: {
    name: 'Русский',
    heading: 'Состояние сервиса',
    overall: { operational: 'Все системы работают', degraded: 'Есть проблемы', outage: 'Сбой' },
    component: { mainServer: 'Основной сервер', database: 'База данных', chain: 'Блокчейн' },
    state: { up: 'Работает', down: 'Не работает', unknown: 'Неизвестно', 'not-monitored': 'Не отслеживается' },
    since: (time) => `с ${time}`,
    services: 'Сервисы',
    notices: 'Объявления',
    noNotices: 'Объявлений нет.',
    points: 'Рестораны',
    condition: { ok: 'работают', degraded: 'с предупреждениями', down: 'с неисправным устройством', manual: 'принимают заказы вручную', offline: 'не в сети' },
    incidents: 'Открытые инциденты',
    severity: { critical: 'Критично', major: 'Важно', minor: 'Несрочно', info: 'Инфо', warning: 'Внимание' },
    beingWorkedOn: 'в работе',
    updated: (time, zone) => `Обновлено ${time} (${zone})`,
  },
  ka: {
    name: 'ქართული',
    heading: 'სერვისის სტატუსი',
    overall: { operational: 'ყველა სისტემა მუშაობს', degraded: 'ზოგიერთ სერვისს აქვს პრობლემა', outage: 'გათიშვა' },
    component: { mainServer: 'მთავარი სერვერი', database: 'მონაცემთა ბაზა', chain: 'ბლოკჩეინი' },
    state: { up: 'მუშაობს', down: 'არ მუშაობს', unknown: 'უცნობია', 'not-monitored': 'არ მოწმდება' },
    since: (time) => `${time}-დან`,
    services: 'სერვისები',
    notices: 'შეტყობინებები',
    noNotices: 'შეტყობინებები არ არის.',
    points: 'რესტორნები',
    condition: { ok: 'მუშაობს', degraded: 'გაფრთხილებით', down: 'გაუმართავი მოწყობილობით', manual: 'შეკვეთებს ხელით იღებს', offline: 'კავშირგარეშე' },
    incidents: 'ღია ინციდენტები',
    severity: { critical: 'კრიტიკული', major: 'მნიშვნელოვანი', minor: 'მცირე', info: 'ინფო', warning: 'გაფრთხილება' },
    beingWorkedOn: 'მიმდინარეობს მუშაობა',
    updated: (time, zone) => `განახლდა ${time} (${zone})`,
  },
};

/** `?lang=`, else the browser's first language we speak, else the configured one. */
export function pageLanguage(query: string | null, acceptLanguage: string | undefined, fallback: PageLanguage): PageLanguage {
  if (query && (PAGE_LANGUAGES as readonly string[]).includes(query)) return query as PageLanguage;
  const wanted = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, q] = part.trim().split(';q=');
      return { language: (tag ?? '').slice(0, 2).toLowerCase(), q: q === undefined ? 1 : Number(q) };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q);
  return (wanted.find((entry) => (PAGE_LANGUAGES as readonly string[]).includes(entry.language))?.language as PageLanguage | undefined) ?? fallback;
}

const escapeHtml = (text: string) => text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c]!);

function timeIn(ms: number, timeZone: string, now: number): string {
  const day = (at: number) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
  const clock = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
  if (day(ms) === day(now)) return clock;
  const date = new Intl.DateTimeFormat('en-GB', { timeZone, day: '2-digit', month: '2-digit' }).format(ms);
  return `${date} ${clock}`;
}

/** The page's one stylesheet, inline and allowed by its hash (no other style or script runs). */
const STYLE = `
:root{color-scheme:light;--ok:#1b7a3a;--warn:#9a6100;--bad:#b3261e;--muted:#5f6368;font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Georgian",sans-serif}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2328;line-height:1.45;font-size:1rem}
main{max-width:44rem;margin:0 auto;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline;justify-content:space-between}
h1{font-size:1.35rem;margin:.25rem 0}
h2{font-size:1.05rem;margin:1.25rem 0 .5rem}
nav a{display:inline-block;min-height:44px;min-width:44px;padding:.6rem .5rem;color:#0b57d0}
nav a[aria-current]{font-weight:700;color:#1f2328;text-decoration:none}
.banner{border-radius:.6rem;padding:.9rem 1rem;font-weight:600;color:#fff;margin:.5rem 0}
.operational{background:var(--ok)}.degraded{background:var(--warn)}.outage{background:var(--bad)}
ul{list-style:none;margin:0;padding:0}
li{background:#fff;border:1px solid #dde1e6;border-radius:.5rem;padding:.7rem .9rem;margin:.4rem 0;overflow-wrap:anywhere}
.row{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem 1rem}
.state-up{color:var(--ok);font-weight:600}.state-down{color:var(--bad);font-weight:600}
.state-unknown,.state-not-monitored,.muted{color:var(--muted)}
.muted{font-weight:400}
.notice-critical{border-left:.35rem solid var(--bad)}.notice-warning{border-left:.35rem solid var(--warn)}.notice-info{border-left:.35rem solid #0b57d0}
footer{margin:1.5rem 0 1rem;color:var(--muted);font-size:.9rem}
`;
export const STATUS_STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** The status page in one language: plain HTML that reads on a phone, refreshing itself every minute. */
export function renderStatusPage(snapshot: StatusSnapshot, language: PageLanguage, title: string): string {
  const w = WORDS[language];
  const at = (ms: number) => timeIn(ms, snapshot.timeZone, snapshot.updatedAt);
  const nav = PAGE_LANGUAGES.map((lang) => `<a href="?lang=${lang}" lang="${lang}"${lang === language ? ' aria-current="page"' : ''}>${WORDS[lang].name}</a>`).join(' ');
  const components = snapshot.components
    .map(
      (c) =>
        `<li class="row"><span>${escapeHtml(w.component[c.id])}</span><span class="state-${c.state}">${escapeHtml(w.state[c.state])}${c.since !== null && c.state === 'down' ? ` <span class="muted">${escapeHtml(w.since(at(c.since)))}</span>` : ''}</span></li>`,
    )
    .join('');
  const notices = snapshot.notices.length
    ? `<ul>${snapshot.notices
        .map((n) => `<li class="notice-${n.severity}"><div>${escapeHtml(n.text[language])}</div><div class="muted">${escapeHtml(w.severity[n.severity] ?? n.severity)} · ${escapeHtml(w.since(at(n.since)))}</div></li>`)
        .join('')}</ul>`
    : `<p class="muted">${escapeHtml(w.noNotices)}</p>`;
  const incidents = snapshot.incidents.length
    ? `<h2>${escapeHtml(w.incidents)}</h2><ul>${snapshot.incidents
        .map(
          (i) =>
            `<li class="row"><span>${escapeHtml(w.component[i.component])}: ${escapeHtml(w.severity[i.severity] ?? i.severity)}</span><span class="muted">${escapeHtml(w.since(at(i.since)))}${i.acknowledged ? ` · ${escapeHtml(w.beingWorkedOn)}` : ''}</span></li>`,
        )
        .join('')}</ul>`
    : '';
  const counts = POINT_CONDITIONS.filter((c) => snapshot.fleet.byCondition[c] > 0)
    .map((c) => `<li class="row"><span>${escapeHtml(w.condition[c])}</span><span>${snapshot.fleet.byCondition[c]}</span></li>`)
    .join('');
  const points = snapshot.points?.length
    ? `<ul>${snapshot.points.map((p) => `<li class="row"><span>${escapeHtml(p.pointId)} <span class="muted">${escapeHtml(p.group)}</span></span><span>${escapeHtml(w.condition[p.condition])}</span></li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="60"><link rel="icon" href="data:,"><title>${escapeHtml(`${w.heading} · ${title}`)}</title><style>${STYLE}</style></head>
<body><main>
<header><h1>${escapeHtml(title)} · ${escapeHtml(w.heading)}</h1><nav>${nav}</nav></header>
<div class="banner ${snapshot.overall}" role="status">${escapeHtml(w.overall[snapshot.overall])}</div>
<h2>${escapeHtml(w.notices)}</h2>${notices}
<h2>${escapeHtml(w.services)}</h2><ul>${components}</ul>
${incidents}
<h2>${escapeHtml(w.points)} (${snapshot.fleet.points})</h2><ul>${counts}</ul>${points}
<footer>${escapeHtml(w.updated(at(snapshot.updatedAt), snapshot.timeZone))}</footer>
</main></body></html>`;
}
