import { h, fill, keyed } from '../dom.js';
import { t } from '../i18n.js';
import { fmtBytes, fmtWhen, fmtAge } from '../clock.js';

const REFRESH_EVERY_MS = 60_000;
const KINDS = ['postgres', 'config', 'logs', 'chain'];

/**
 * Backups by kind: the last verified one (time, size, sha256, the verification's checks), the last
 * failure, the next scheduled run in central's time zone, offsite copies, retention, and "run now";
 * live over the stream (`backups` pushes) while one runs.
 */
export default {
  id: 'backups',
  title: 'view.backups',
  order: 40,
  mount(el, app) {
    let overview = null;
    const error = h('p', { class: 'error', role: 'alert' });
    const freshness = h('div', { class: 'freshness' });
    const kinds = h('div', { class: 'kinds' });
    const recent = h('ul', { class: 'backup-list', 'aria-label': t('backup.recent') });
    el.append(h('h1', { class: 'view-title' }, t('view.backups')), error, freshness, kinds, h('h2', { class: 'sub-title' }, t('backup.recent')), recent);

    async function load() {
      try {
        overview = await app.api('/api/backups');
        error.textContent = '';
        render();
      } catch (e) {
        error.textContent = e.message;
      }
    }

    async function runNow(kind, button) {
      error.textContent = '';
      button.disabled = true;
      try {
        await app.api('/api/backups/run', { method: 'POST', body: { kind } });
        await load();
      } catch (e) {
        error.textContent = e.message;
        button.disabled = false;
      }
    }

    const createKind = () => h('article', { class: 'kind card' }, h('header', { class: 'card-head' }), h('dl', { class: 'facts' }), h('div', { class: 'actions' }));

    function updateKind(card, schedule) {
      const now = app.now();
      const kind = schedule.kind;
      const mine = overview.backups.filter((b) => b.kind === kind);
      const good = mine.find((b) => b.status === 'ok' && (b.verify === 'passed' || (kind !== 'postgres' && b.verify === 'skipped')) && !b.deleted);
      const failure = mine.find((b) => b.status === 'failed' || b.verify === 'failed' || b.offsite === 'failed');
      const running = overview.running.find((r) => r.kind === kind);
      card.dataset.kind = kind;
      card.dataset.running = String(Boolean(running));
      const [head, facts, actions] = card.children;
      fill(head, h('h2', {}, t(`backup.kind.${kind}`)), running ? h('span', { class: 'badge', dataset: { run: 'running' } }, t('backup.running')) : null);
      const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
      fill(
        facts,
        running ? row(t('backup.progress'), t(`backup.phase.${running.phase}`), ` · ${fmtBytes(running.bytes)} · ${t('backup.startedAgo', { age: fmtAge(now - running.startedAt) })}`) : null,
        row(
          kind === 'postgres' ? t('backup.lastVerified') : t('backup.lastGood'),
          good
            ? h(
                'div',
                { class: 'last-good', dataset: { id: good.id, verify: good.verify } },
                h('div', {}, fmtWhen(good.finishedAt, now), ' · ', fmtBytes(good.size)),
                h('div', { class: 'sha' }, h('span', { class: 'muted' }, 'sha256 '), h('code', {}, good.sha256)),
                h('div', {}, `${t('backup.verify')}: `, h('b', { class: 'verify', dataset: { verify: good.verify } }, t(`backup.verifyState.${good.verify}`))),
                good.verifyDetail ? h('ul', { class: 'checks-list' }, good.verifyDetail.split('; ').map((line) => h('li', {}, line))) : null,
                h('div', {}, `${t('backup.offsite')}: `, t(`backup.offsiteState.${good.offsite}`), good.offsiteDetail && good.offsite !== 'skipped' ? h('div', { class: 'muted small' }, good.offsiteDetail) : null),
              )
            : h('span', { class: 'error' }, t('backup.noneGood')),
        ),
        failure && (!good || failure.startedAt > good.startedAt)
          ? row(t('backup.lastFailure'), h('div', { class: 'error failure' }, fmtWhen(failure.finishedAt ?? failure.startedAt, now), ': ', failure.error ?? failure.verifyDetail ?? failure.offsiteDetail ?? ''))
          : null,
        row(
          t('backup.next'),
          schedule.tiers.length
            ? schedule.tiers.map((tier) => h('div', { class: 'tier', dataset: { tier: tier.tier } }, `${t(`backup.tier.${tier.tier}`)}: `, tier.nextAt ? fmtWhen(tier.nextAt, now) : '—', h('span', { class: 'muted' }, ` (cron ${tier.cron})`)))
            : t('backup.onDemand'),
        ),
        row(t('backup.retention'), schedule.targets.map((target) => h('div', { dataset: { target: target.name } }, `${target.name}: ${t('backup.retentionDays', { n: target.retentionDays })}`))),
        schedule.drill ? row(t('backup.drill'), drillLine(kind, schedule.drill, now)) : null,
      );
      fill(
        actions,
        app.can('operator')
          ? h('button', { type: 'button', class: 'primary run-now', disabled: Boolean(running), dataset: { kind }, onclick: (e) => runNow(kind, e.currentTarget) }, t('backup.runNow'))
          : h('p', { class: 'muted' }, t('err.role', { role: t('role.operator') })),
      );
    }

    /** The last restore drill of `kind` (from the drill's target) and when the next one runs. */
    function drillLine(kind, drill, now) {
      const last = overview.drills.find((d) => d.kind === kind);
      return h(
        'div',
        { class: 'drill', dataset: { ok: last ? String(last.ok) : 'none' } },
        last ? h('div', { class: last.ok ? '' : 'error' }, fmtWhen(last.at, now), ': ', t(last.ok ? 'backup.drillPassed' : 'backup.drillFailed'), h('div', { class: 'muted small' }, last.detail)) : null,
        h('div', { class: 'muted' }, `${t('backup.next')}: `, drill.nextAt ? fmtWhen(drill.nextAt, now) : '—', ` (${drill.target}, cron ${drill.cron})`),
      );
    }

    const createBackup = () => h('li', { class: 'backup' });

    function updateBackup(li, b) {
      const now = app.now();
      Object.assign(li.dataset, { id: b.id, kind: b.kind, status: b.status, verify: b.verify });
      fill(
        li,
        h('b', {}, t(`backup.kind.${b.kind}`)),
        ' ',
        h('span', { class: 'badge', dataset: { backup: b.status } }, t(`backup.status.${b.status}`)),
        ' ',
        fmtWhen(b.startedAt, now),
        h(
          'div',
          { class: 'muted small' },
          [b.status === 'ok' ? fmtBytes(b.size) : null, `${t('backup.verify')}: ${t(`backup.verifyState.${b.verify}`)}`, `${t('backup.offsite')}: ${t(`backup.offsiteState.${b.offsite}`)}`, t('backup.by', { by: b.by }), b.deleted ? t('backup.deleted') : null]
            .filter(Boolean)
            .join(' · '),
        ),
        b.error ? h('div', { class: 'error small' }, b.error) : null,
      );
    }

    function render() {
      if (!overview) return;
      const now = app.now();
      if (!overview.schedules.length) {
        fill(freshness, h('p', { class: 'muted' }, t('backup.notConfigured')));
        fill(kinds);
        fill(recent);
        return;
      }
      const newest = overview.newestVerified;
      const hasPostgres = overview.schedules.some((s) => s.kind === 'postgres');
      fill(
        freshness,
        hasPostgres
          ? newest
            ? h('p', { class: newest.ageHours > overview.maxVerifiedAgeHours ? 'error' : '' }, t('backup.newestVerified', { when: fmtWhen(newest.finishedAt, now), max: overview.maxVerifiedAgeHours }))
            : h('p', { class: 'error' }, t('backup.noVerified'))
          : null,
      );
      const schedules = [...overview.schedules].sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
      keyed(kinds, schedules, (s) => s.kind, createKind, updateKind);
      keyed(recent, overview.backups.slice(0, 30), (b) => b.id, createBackup, updateBackup);
      const failing = schedules.filter((s) => {
        const latest = overview.backups.find((b) => b.kind === s.kind && b.status !== 'running');
        return latest && (latest.status === 'failed' || latest.verify === 'failed');
      }).length;
      const count = document.querySelector('.tab-count[data-view="backups"]');
      if (count) count.textContent = failing ? '!' : '';
    }

    app.on('backups', (data) => {
      overview = data;
      render();
    });
    setInterval(() => void load(), REFRESH_EVERY_MS);
    void load();
  },
};
