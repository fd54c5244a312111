import { h, fill, keyed } from '../dom.js';
import { t } from '../i18n.js';
import { fmtAge, fmtTime, fmtWhen, fmtFull } from '../clock.js';

const REFRESH_EVERY_MS = 60_000;
/** Due first, then by how soon they are due. */
const ORDER = { expired: 0, expiring: 1, rotate: 1, ok: 2 };

/** Where a credential lives: its point, its certificate file, or the config. */
function where(c) {
  if (c.pointId) return t('cred.where.point', { point: c.pointId });
  if (c.kind === 'certificate') return c.id.replace(/^certificate:/, '').replace(/#\d+$/, '');
  return t(`cred.where.${c.kind}`);
}

/**
 * Key age, for admins only (GET /api/credentials is theirs): every credential central knows, where
 * it is, how old it is or when it expires, and whether it is due for rotation, in central's time zone.
 */
export default {
  id: 'credentials',
  title: 'view.credentials',
  order: 50,
  role: 'admin',
  mount(el, app) {
    const error = h('p', { class: 'error', role: 'alert' });
    const checked = h('p', { class: 'muted cred-checked' });
    const problems = h('ul', { class: 'cred-problems' });
    const list = h('ul', { class: 'cred-list', 'aria-label': t('view.credentials') });
    const empty = h('p', { class: 'muted', hidden: true }, t('cred.none'));
    el.append(h('h1', { class: 'view-title' }, t('view.credentials')), error, checked, problems, list, empty);

    const create = () => h('li', { class: 'cred card' }, h('header', { class: 'card-head' }), h('dl', { class: 'facts' }));

    function update(li, c, now) {
      li.dataset.id = c.id;
      li.dataset.status = c.status;
      const [head, facts] = li.children;
      fill(head, h('h2', {}, c.name), h('span', { class: 'badge', dataset: { cred: c.status } }, t(`cred.status.${c.status}`)));
      const row = (label, value, title) => [h('dt', {}, label), h('dd', title ? { title } : {}, value)];
      fill(
        facts,
        row(t('cred.where'), h('span', { class: 'cred-where' }, `${t(`cred.kind.${c.kind}`)} · ${where(c)}`)),
        c.expiresAt === undefined
          ? row(t('cred.age'), h('span', { class: 'cred-age' }, t('cred.ageSince', { age: fmtAge(c.ageMs), time: fmtTime(c.setAt, now) })), fmtFull(c.setAt))
          : row(t('cred.expires'), h('span', { class: 'cred-expires' }, fmtWhen(c.expiresAt, now)), fmtFull(c.expiresAt)),
        c.status === 'ok' ? row(t('cred.dueAt'), fmtWhen(c.dueAt, now), fmtFull(c.dueAt)) : null,
      );
    }

    async function load() {
      try {
        const view = await app.api('/api/credentials');
        const now = app.now();
        error.textContent = '';
        checked.textContent = view.checkedAt ? t('cred.checked', { when: fmtWhen(view.checkedAt, now), days: Math.round(view.maxAgeMs / 86_400_000) }) : t('cred.notChecked');
        fill(problems, view.problems.map((p) => h('li', { class: 'error' }, p)));
        const sorted = [...view.credentials].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.dueAt - b.dueAt);
        keyed(list, sorted, (c) => c.id, create, (li, c) => update(li, c, now));
        empty.hidden = sorted.length > 0;
      } catch (e) {
        error.textContent = e.message;
      }
    }

    // Read when the view is shown (it mounts just before) and every minute while the page is open.
    app.on('view', (id) => id === 'credentials' && void load());
    setInterval(() => void load(), REFRESH_EVERY_MS);
  },
};
