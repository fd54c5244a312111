import { h, fill, keyed } from '../dom.js';
import { t } from '../i18n.js';
import { fmtTime, fmtWhen, fmtDuration, fmtFull, localTimes } from '../clock.js';
import { confirmDialog } from '../dialog.js';

const RUNS = 20;
/** Probe times and ages move on: read again this often besides the live pushes. */
const REFRESH_EVERY_MS = 30_000;
/** The forwarder has no live push: read again this often. */
const FORWARDING_EVERY_MS = 10_000;

function healthBadge(health) {
  return h('span', { class: 'badge', dataset: { health } }, t(`health.${health}`));
}

function runBadge(status) {
  return h('span', { class: 'badge', dataset: { run: status } }, t(`run.status.${status}`));
}

/**
 * Recovery procedures with their state, the run in progress (its waiting step with Approve / Reject
 * showing exactly what it will do), start by hand after reading the dry-run plan, and every run's
 * audited steps; live over the stream (`runbooks` pushes).
 */
export default {
  id: 'runbooks',
  title: 'view.runbooks',
  order: 30,
  mount(el, app) {
    let procedures = [];
    let runs = [];
    const error = h('p', { class: 'error', role: 'alert' });
    const list = h('div', { class: 'procedures' });
    const runList = h('ul', { class: 'runs', 'aria-label': t('runbook.runs') });
    const forwarding = h('section', { class: 'forwarding', 'aria-label': t('forward.title') });
    const figures = h('section', { class: 'figures', 'aria-label': t('figures.title') });
    el.append(h('h1', { class: 'view-title' }, t('view.runbooks')), error, list, figures, forwarding, h('h2', { class: 'sub-title' }, t('runbook.runs')), runList);
    const fail = (e) => (error.textContent = e.message);

    async function load() {
      try {
        let targets;
        [procedures, runs, targets] = await Promise.all([app.api('/api/runbooks'), app.api(`/api/runbooks/runs?limit=${RUNS}`), app.api('/api/runbooks/figures')]);
        error.textContent = '';
        render();
        renderFigures(targets);
      } catch (e) {
        fail(e);
      }
    }

    function runOf(id) {
      return runs.find((r) => r.id === id);
    }

    async function approve(procedure) {
      const run = procedure.run;
      const awaiting = run.awaiting;
      const given = awaiting.approvedBy.length;
      const needed = awaiting.approvals;
      const lastNeeded = given + 1 >= needed;
      const body = [
        h('p', {}, t('runbook.approveIntro', { procedure: procedure.name, run: run.id })),
        h('pre', { class: 'what' }, localTimes(awaiting.text)),
        needed > 1 ? h('p', {}, t('runbook.approvalOf', { n: given + 1, of: needed }), given ? ` ${t('runbook.approvedSoFar', { who: awaiting.approvedBy.join(', ') })}` : '') : null,
        h('p', { class: 'strong' }, awaiting.manual ? t('runbook.confirmManualEffect') : lastNeeded ? t('runbook.runsNow') : t('runbook.stillWaits', { n: needed - given - 1 })),
        run.startedBy === app.user.username && needed > 1 ? h('p', { class: 'error' }, t('runbook.starterCannot')) : null,
      ];
      await confirmDialog({
        title: awaiting.manual ? t('runbook.confirmManual') : t('runbook.approveTitle'),
        body,
        confirm: awaiting.manual ? t('runbook.confirmDone') : lastNeeded ? t('runbook.approveRun') : t('runbook.approve'),
        danger: !awaiting.manual,
        run: () => app.api(`/api/runbooks/runs/${encodeURIComponent(run.id)}/approve`, { method: 'POST', body: { stepId: awaiting.id } }),
      });
      await load();
    }

    async function reject(procedure) {
      const run = procedure.run;
      await confirmDialog({
        title: t('runbook.rejectTitle'),
        body: [h('p', {}, t('runbook.rejectIntro', { procedure: procedure.name })), h('pre', { class: 'what' }, localTimes(run.awaiting.text)), h('p', {}, t('runbook.rejectEffect'))],
        fields: [{ name: 'reason', label: t('runbook.reason'), type: 'textarea', required: true }],
        confirm: t('runbook.reject'),
        run: (values) => app.api(`/api/runbooks/runs/${encodeURIComponent(run.id)}/reject`, { method: 'POST', body: { stepId: run.awaiting.id, reason: values.reason } }),
      });
      await load();
    }

    /** The plan comes first: the dialog that starts a run opens only with the dry run's text in it. */
    async function startByHand(procedure, button) {
      error.textContent = '';
      button.disabled = true;
      let plan;
      try {
        plan = (await app.api(`/api/runbooks/${encodeURIComponent(procedure.name)}/dry-run`, { method: 'POST' })).plan;
      } catch (e) {
        fail(e);
        return;
      } finally {
        button.disabled = false;
      }
      await confirmDialog({
        title: t('runbook.startTitle', { procedure: procedure.name }),
        body: [h('p', {}, t('runbook.startIntro')), h('pre', { class: 'plan', tabindex: '0', 'aria-label': t('runbook.plan') }, plan)],
        fields: [{ name: 'reason', label: t('runbook.startReason'), type: 'textarea', required: true }],
        confirm: t('runbook.startNow', { procedure: procedure.name }),
        danger: true,
        run: (values) => app.api(`/api/runbooks/${encodeURIComponent(procedure.name)}/run`, { method: 'POST', body: { reason: values.reason } }),
      });
      await load();
    }

    async function showPlan(procedure) {
      try {
        const { plan } = await app.api(`/api/runbooks/${encodeURIComponent(procedure.name)}/dry-run`, { method: 'POST' });
        await confirmDialog({ title: t('runbook.planTitle', { procedure: procedure.name }), body: [h('pre', { class: 'plan', tabindex: '0' }, plan)], confirm: t('close') });
      } catch (e) {
        fail(e);
      }
    }

    const createProcedure = () => h('article', { class: 'procedure card' }, h('header', { class: 'card-head' }), h('dl', { class: 'facts' }), h('div', { class: 'run-box' }), h('div', { class: 'actions' }));

    function updateProcedure(card, p) {
      const now = app.now();
      card.dataset.procedure = p.name;
      card.dataset.health = p.health;
      const [head, facts, runBox, actions] = card.children;
      fill(head, h('h2', {}, p.name), healthBadge(p.health), p.description ? h('p', { class: 'muted' }, p.description) : null);
      const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
      fill(
        facts,
        row(t('runbook.target'), p.target),
        row(t('runbook.lastProbe'), p.lastProbe ? [fmtWhen(p.lastProbe.at, now), ' — ', p.lastProbe.ok ? t('runbook.probeOk') : t('runbook.probeFailed'), p.lastProbe.detail ? h('div', { class: 'muted small' }, p.lastProbe.detail) : null] : t('runbook.notProbed')),
        row(t('runbook.budget'), t('runbook.budgetUsed', { used: p.restartsUsed, of: p.restartBudget })),
        p.escalated ? row(t('runbook.escalated'), h('span', { class: 'error' }, t('runbook.escalatedText'))) : null,
        p.lastRun ? row(t('runbook.lastRun'), runBadge(p.lastRun.status), ' ', fmtWhen(p.lastRun.at, now)) : null,
      );
      fill(runBox, p.run ? runView(p) : null);
      fill(
        actions,
        app.can('operator') && !p.run ? h('button', { type: 'button', class: 'primary start', onclick: (e) => startByHand(p, e.currentTarget) }, t('runbook.start')) : null,
        app.can('operator') ? h('button', { type: 'button', class: 'secondary plan-button', onclick: () => showPlan(p) }, t('runbook.showPlan')) : null,
        !app.can('operator') ? h('p', { class: 'muted' }, t('err.role', { role: t('role.operator') })) : null,
      );
    }

    function runView(p) {
      const run = p.run;
      const audit = runOf(run.id);
      const awaiting = run.awaiting;
      return h(
        'div',
        { class: 'run', dataset: { run: run.id, status: run.status } },
        h('p', {}, runBadge(run.status), ' ', t('runbook.stageStep', { stage: run.stage, step: run.step ?? '—' })),
        h('p', { class: 'muted' }, run.startedBy ? t('runbook.startedBy', { who: run.startedBy }) : t('runbook.startedByProbe'), audit ? ` · ${fmtWhen(audit.startedAt, app.now())} · ${audit.reason}` : ''),
        awaiting
          ? h(
              'div',
              { class: 'awaiting', role: 'group', 'aria-label': t('runbook.waitsFor') },
              h('h3', {}, awaiting.manual ? t('runbook.waitsManual') : t('runbook.waitsFor')),
              h('pre', { class: 'what' }, localTimes(awaiting.text)),
              awaiting.approvals > 1
                ? h('p', { class: 'approvals', dataset: { given: awaiting.approvedBy.length, needed: awaiting.approvals } }, t('runbook.approvalsGiven', { n: awaiting.approvedBy.length, of: awaiting.approvals }), awaiting.approvedBy.length ? ` — ${awaiting.approvedBy.join(', ')}` : '')
                : null,
              app.can('approver')
                ? h(
                    'div',
                    { class: 'actions' },
                    h('button', { type: 'button', class: 'danger approve', onclick: () => approve(p) }, awaiting.manual ? t('runbook.confirmManual') : t('runbook.approve')),
                    h('button', { type: 'button', class: 'secondary reject', onclick: () => reject(p) }, t('runbook.reject')),
                  )
                : h('p', { class: 'muted' }, t('err.role', { role: t('role.approver') })),
            )
          : null,
      );
    }

    const createRun = () => {
      const summary = h('summary', {});
      return h('li', { class: 'run-item' }, h('details', {}, summary, h('div', { class: 'run-body' })));
    };

    function updateRun(li, run) {
      const now = app.now();
      li.dataset.run = run.id;
      li.dataset.status = run.status;
      const [summary, body] = li.firstElementChild.children;
      fill(
        summary,
        h('b', {}, run.procedure),
        ' ',
        runBadge(run.status),
        ' ',
        h('span', {}, fmtWhen(run.startedAt, now)),
        ' · ',
        h('span', {}, run.startedBy ? t('runbook.startedBy', { who: run.startedBy }) : t('runbook.startedByProbe')),
      );
      fill(
        body,
        h('p', {}, h('span', { class: 'muted' }, `${t('runbook.reasonLabel')}: `), run.reason),
        run.outcome ? h('p', {}, h('span', { class: 'muted' }, `${t('runbook.outcome')}: `), localTimes(run.outcome, now)) : null,
        h('ol', { class: 'steps' }, run.steps.map((s) => stepView(s, now))),
      );
    }

    function stepView(s, now) {
      const state = s.finishedAt === null ? 'running' : s.ok === null ? 'note' : s.ok ? 'ok' : 'failed';
      return h(
        'li',
        { class: 'step', dataset: { phase: s.phase, state, step: s.stepId ?? '' } },
        h('div', { class: 'step-head' }, h('time', { datetime: new Date(s.startedAt).toISOString(), title: fmtFull(s.startedAt) }, fmtTime(s.startedAt, now)), ' ', h('b', {}, `${s.phase}${s.stepId ? ` ${s.stepId}` : ''}`), ' ', h('span', { class: 'step-state' }, t(`step.${state}`))),
        h('div', { class: 'step-what' }, localTimes(s.what, now)),
        h(
          'div',
          { class: 'muted small' },
          t('step.by', { by: s.by }),
          s.exitCode !== null && s.exitCode !== undefined ? ` · ${t('step.exit', { code: s.exitCode })}` : '',
          s.finishedAt !== null && s.finishedAt > s.startedAt ? ` · ${fmtDuration(s.finishedAt - s.startedAt)}` : '',
        ),
        s.detail && s.detail !== s.what ? h('div', { class: 'step-detail' }, localTimes(s.detail, now)) : null,
        s.outputTail ? h('details', { class: 'output' }, h('summary', {}, t('step.output')), h('pre', {}, s.outputTail)) : null,
      );
    }

    function render() {
      if (!procedures.length) fill(list, h('p', { class: 'muted' }, t('runbook.none')));
      else {
        if (list.querySelector(':scope > p')) list.textContent = '';
        keyed(list, procedures, (p) => p.name, createProcedure, updateProcedure);
      }
      keyed(runList, runs, (r) => r.id, createRun, updateRun);
      const waiting = procedures.filter((p) => p.run?.awaiting).length;
      const count = document.querySelector('.tab-count[data-view="runbooks"]');
      if (count) count.textContent = waiting ? String(waiting) : '';
    }

    /** Each probed target's response times (p50/p95) and error rate over 24 h, and its uptime over 24 h and 30 days. */
    function renderFigures(targets) {
      if (!targets.length) return fill(figures, null);
      const ms = (v) => (v === null ? '—' : `${Math.round(v)} ms`);
      const pct = (v) => (v === null ? '—' : `${(Math.floor(v * 1000) / 10).toFixed(1)} %`);
      const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
      fill(
        figures,
        h('h2', { class: 'sub-title' }, t('figures.title')),
        h(
          'div',
          { class: 'figure-cards' },
          targets.map((f) =>
            h(
              'article',
              { class: 'card figure', dataset: { target: f.target } },
              h('header', { class: 'card-head' }, h('h3', {}, f.target), h('span', { class: 'muted small' }, t('figures.samples', { n: f.samples24h }))),
              h(
                'dl',
                { class: 'facts' },
                row(t('figures.response'), `${ms(f.p50Ms)} / ${ms(f.p95Ms)}`),
                row(t('figures.errors'), pct(f.errorRate24h)),
                row(t('figures.uptime'), `${pct(f.uptime24h)} / ${pct(f.uptime30d)}`),
              ),
            ),
          ),
        ),
      );
    }

    /** Orders on their way to the main server: paused or not, the backlog, parked orders and "send again". */
    let forwards = null;
    async function loadForwarding() {
      // Order stats carry a backlog once forwarding has run (without upstream.url there is no /api/forwarding at all).
      forwards ??= await app.api('/api/orders/stats').then((stats) => Boolean(stats.backlog), () => false);
      if (!forwards) return;
      let view;
      try {
        view = await app.api('/api/forwarding');
      } catch (e) {
        // No upstream configured (no such route), or this replica does not forward: nothing to show.
        fill(forwarding, e.status === 404 ? null : h('p', { class: 'muted' }, e.message));
        return;
      }
      const now = app.now();
      const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
      // Parked orders and voids are re-driven together.
      const parked = view.backlog.parked + (view.voids?.parked ?? 0);
      fill(
        forwarding,
        h(
          'article',
          { class: 'card', dataset: { state: view.state } },
          h('header', { class: 'card-head' }, h('h2', {}, t('forward.title')), h('span', { class: 'badge', dataset: { run: view.state === 'paused' ? 'failed' : 'resolved' } }, t(`forward.state.${view.state}`))),
          h(
            'dl',
            { class: 'facts' },
            view.paused ? row(t('forward.pausedSince'), fmtWhen(view.paused.since, now), ` (${view.paused.reasons.map((r) => t(`forward.reason.${r}`)).join(', ')})`) : null,
            row(t('forward.backlog'), t('forward.backlogText', { pending: view.backlog.pending, parked: view.backlog.parked }), view.backlog.oldestReceivedAt ? ` · ${t('forward.oldest', { when: fmtWhen(view.backlog.oldestReceivedAt, now) })}` : ''),
            view.voids ? row(t('forward.voids'), t('forward.voidsText', { pending: view.voids.pending, waiting: view.voids.waitingForSale, parked: view.voids.parked, forwarded: view.voids.forwarded })) : null,
            row(t('forward.last'), view.lastForwardedAt ? fmtWhen(view.lastForwardedAt, now) : '—'),
            view.lastError ? row(t('forward.lastError'), h('span', { class: 'error' }, `${fmtTime(view.lastError.at, now)} ${view.lastError.pointId}: ${view.lastError.error}`)) : null,
          ),
          view.parked.length
            ? h('details', {}, h('summary', {}, t('forward.parkedList', { n: view.backlog.parked })), h('ul', { class: 'checks-list' }, view.parked.slice(0, 20).map((o) => h('li', {}, `${o.number}: ${o.lastError ?? ''}`))))
            : null,
          app.can('operator') && parked > 0
            ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary redrive', onclick: () => redrive(parked) }, t('forward.redrive')))
            : null,
        ),
      );
    }

    async function redrive(parked) {
      await confirmDialog({
        title: t('forward.redriveTitle'),
        body: [h('p', {}, t('forward.redriveText', { n: parked }))],
        confirm: t('forward.redrive'),
        run: () => app.api('/api/forwarding/redrive', { method: 'POST', body: {} }),
      });
      await loadForwarding();
    }

    app.on('runbooks', (data) => {
      procedures = data.procedures;
      runs = data.runs;
      render();
    });
    setInterval(() => void load(), REFRESH_EVERY_MS);
    setInterval(() => void loadForwarding(), FORWARDING_EVERY_MS);
    void load();
    void loadForwarding();
  },
};
