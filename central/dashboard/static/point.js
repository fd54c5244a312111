import { h, clear, fill, CHECKS, HARDWARE_CHECKS } from './dom.js';
import { t, lang } from './i18n.js';
import { fmtTime, fmtWhen, fmtFull, timeZone } from './clock.js';
import { badge, checkWord, isCurrent, modeFacts, stateLine, unsyncedFacts } from './facts.js';
import { confirmDialog } from './dialog.js';

/** The point drawer: facts, checks, commands, charts and a timeline; its facts follow the point live. */
const COMMANDS = ['resync', 'reprint', 'rebirth'];

export function openPoint(body, pointId, app, { heading, badge: badgeHolder }) {
  heading.textContent = pointId;
  const facts = h('dl', { class: 'facts' });
  const checks = h('table', { class: 'checks' });
  const commandList = h('ul', { class: 'commands' });
  const commandError = h('p', { class: 'error', role: 'alert' });
  const day = h('dl', { class: 'facts day', dataset: { day: pointId } });
  const charts = h('div', { class: 'charts' });
  const timeline = h('ol', { class: 'timeline' });
  const extra = h('div', { class: 'extra' });
  body.append(
    facts,
    h('h3', {}, t('point.checks')),
    h('div', { class: 'table-wrap' }, checks),
    h('h3', {}, t('point.commands')),
    app.can('operator')
      ? h(
          'div',
          { class: 'command-buttons' },
          COMMANDS.map((name) => h('button', { type: 'button', class: 'secondary', title: t(`command.${name}.help`), dataset: { command: name }, onclick: () => send(name) }, t(`command.${name}`))),
          h('button', { type: 'button', class: 'secondary', dataset: { command: 'mode-offline' }, onclick: () => setMode('offline') }, t('command.manualOn')),
          h('button', { type: 'button', class: 'secondary', dataset: { command: 'mode-auto' }, onclick: () => setMode(null) }, t('command.manualOff')),
        )
      : h('p', { class: 'muted' }, t('err.role', { role: t('role.operator') })),
    commandError,
    commandList,
    h('h3', {}, t('point.today')),
    day,
    h('h3', {}, t('point.last24h')),
    charts,
    extra,
    h('h3', {}, t('point.timeline')),
    timeline,
  );

  async function send(name, extra = {}) {
    commandError.textContent = '';
    try {
      await app.api(`/api/points/${encodeURIComponent(pointId)}/commands`, { method: 'POST', body: { name, ...extra } });
    } catch (error) {
      commandError.textContent = error.message;
    }
    await loadCommands();
  }

  /** Manual-order mode by hand (force "offline"), or the mode handed back to the box's checks (null). */
  async function setMode(force) {
    const confirmed = await confirmDialog({
      title: force ? t('command.manualOnTitle', { point: pointId }) : t('command.manualOffTitle', { point: pointId }),
      body: [h('p', {}, force ? t('command.manualOnText') : t('command.manualOffText'))],
      confirm: force ? t('command.manualOn') : t('command.manualOff'),
      run: async () => true,
    });
    if (confirmed) await send('mode', { force });
  }

  function renderView() {
    const p = app.points.get(pointId);
    if (!p) {
      fill(facts, h('dt', {}, t('point.state')), h('dd', {}, t('point.neverReported')));
      return;
    }
    const now = app.now();
    fill(badgeHolder, badge(p));
    const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
    fill(
      facts,
      row(t('fleet.group'), p.group),
      row(t('point.connection'), stateLine(p, now) || t('point.connected')),
      row(t('fleet.col.mode'), modeFacts(p, now)),
      row(t('fleet.col.lastSeen'), p.lastSeen ? fmtWhen(p.lastSeen, now) : '—'),
      row(t('fleet.col.unsynced'), unsyncedFacts(p, now)),
      row(t('point.clockSkew'), p.clockSkewMs === null ? '—' : t('age.sec1', { n: (p.clockSkewMs / 1000).toFixed(1) })),
      row(t('point.version'), p.version ?? '—'),
    );
    const current = isCurrent(p);
    fill(
      checks,
      h('caption', { class: current ? 'sr-only' : 'was-caption' }, current ? t('point.checks') : t('point.checksUnknown', { since: fmtTime(p.disconnectedSince ?? p.lastSeen, now), time: fmtTime(p.lastSeen, now) })),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('point.check')), h('th', { scope: 'col' }, t('point.status')), h('th', { scope: 'col' }, t('point.detail')), h('th', { scope: 'col' }, t('point.since')))),
      h(
        'tbody',
        {},
        [...CHECKS, ...HARDWARE_CHECKS].filter((name) => p.checks[name]).map((name) => {
          const check = p.checks[name];
          return h(
            'tr',
            { class: current ? '' : 'was', dataset: { check: name, status: current ? check.status : 'unknown' } },
            h('th', { scope: 'row' }, t(`check.${name}`)),
            h('td', { class: 'status' }, current ? checkWord(check.status) : t('point.wasStatus', { value: checkWord(check.status) })),
            h('td', {}, check.detail),
            h('td', {}, h('time', { datetime: new Date(check.since).toISOString(), title: fmtFull(check.since) }, fmtTime(check.since, now))),
          );
        }),
      ),
    );
  }

  async function loadCommands() {
    try {
      const list = await app.api(`/api/points/${encodeURIComponent(pointId)}/commands?limit=10`);
      const now = app.now();
      fill(
        commandList,
        list.map((c) => h('li', { dataset: { status: c.status, id: c.id } }, h('b', {}, c.name), ` ${t(`command.status.${c.status}`)} `, h('small', {}, `${fmtTime(c.resultAt ?? c.sentAt, now)} ${c.detail ?? ''}`))),
      );
    } catch (error) {
      fill(commandList, h('li', {}, error.message));
    }
  }

  /** Today's sales as central holds them: orders, gross, voids (count and sum), net; and whether the box agrees. */
  async function loadDay() {
    try {
      const answer = await app.api(`/api/reconciliation?pointId=${encodeURIComponent(pointId)}`);
      const c = answer.central;
      const amount = (minor) => (minor / 100).toLocaleString(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      const row = (key, value) => [h('dt', {}, t(key)), h('dd', { dataset: { fact: key.replace('point.day.', '') } }, value)];
      fill(
        day,
        row('point.day.date', answer.date),
        row('point.day.orders', String(c.count)),
        row('point.day.gross', amount(c.gross ?? c.total)),
        row('point.day.voids', t('point.day.voidsValue', { n: c.voids?.count ?? 0, sum: amount(c.voids?.sum ?? 0) })),
        row('point.day.net', amount(c.net ?? c.total)),
        row('point.day.check', t(`point.day.status.${answer.status}`)),
      );
    } catch (error) {
      fill(day, h('dd', { class: 'muted' }, error.code === 'NO_DAY' ? t('point.day.none') : error.message));
    }
  }

  let plots = [];
  async function loadHistory() {
    try {
      const [history, incidents] = await Promise.all([
        app.api(`/api/points/${encodeURIComponent(pointId)}/history?points=240`),
        app.api(`/api/incidents?pointId=${encodeURIComponent(pointId)}&limit=50`),
      ]);
      drawCharts(history.series);
      const now = app.now();
      const items = [
        ...history.events.map((e) => ({ at: e.at, kind: e.kind, text: `${e.kind.replace('check:', '')} → ${e.value}${e.detail ? ` (${e.detail})` : ''}` })),
        ...incidents.map((i) => ({ at: i.openedAt, kind: 'incident', text: `${t(`incident.status.${i.status}`)}: ${i.title}` })),
      ].sort((a, b) => b.at - a.at);
      fill(
        timeline,
        items.length
          ? items.slice(0, 200).map((item) => h('li', { dataset: { kind: item.kind } }, h('time', { datetime: new Date(item.at).toISOString(), title: fmtFull(item.at) }, fmtTime(item.at, now)), ' ', item.text))
          : h('li', {}, t('point.nothingYet')),
      );
    } catch (error) {
      fill(timeline, h('li', {}, error.message));
    }
  }

  function drawCharts(series) {
    plots.forEach((plot) => plot.destroy());
    plots = [];
    clear(charts);
    if (!window.uPlot || series.length < 2) {
      charts.append(h('p', { class: 'muted' }, series.length < 2 ? t('point.fewSamples') : t('point.noCharts')));
      return;
    }
    const width = Math.max(240, (charts.clientWidth || 320) - 8);
    const xs = series.map((s) => s.at / 1000);
    const chart = (title, lines) => {
      const shown = lines.filter((l) => series.some((s) => s[l.key] !== null));
      if (!shown.length) return;
      const holder = h('div', { class: 'chart', role: 'img', 'aria-label': title });
      charts.append(holder);
      plots.push(
        new window.uPlot(
          {
            title,
            width,
            height: 140,
            tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), timeZone()),
            scales: { x: { time: true } },
            series: [{}, ...shown.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, spanGaps: true }))],
            axes: [{ stroke: 'currentColor' }, { size: 40, stroke: 'currentColor' }],
          },
          [xs, ...shown.map((l) => series.map((s) => s[l.key]))],
          holder,
        ),
      );
    };
    chart(t('point.chartUse'), [
      { key: 'cpu', label: 'cpu', color: '#1565c0' },
      { key: 'memory', label: t('point.memory'), color: '#8e44ad' },
      { key: 'disk', label: t('point.disk'), color: '#ef6c00' },
    ]);
    chart(t('point.chartTemperature'), [{ key: 'temperature', label: '°C', color: '#d84315' }]);
    chart(t('fleet.col.unsynced'), [{ key: 'unsynced', label: t('fleet.col.unsynced'), color: '#c62828' }]);
  }

  for (const section of app.pointSections) {
    const holder = h('div');
    extra.append(h('h3', {}, section.title), holder);
    try {
      section.render(holder, pointId, app);
    } catch (error) {
      holder.textContent = error.message;
    }
  }

  const offPoints = app.on('points', ({ changed }) => {
    if (changed.some((p) => p.pointId === pointId)) renderView();
  });
  const offCommand = app.on('command', (c) => {
    if (c.pointId === pointId) void loadCommands();
  });
  const offIncident = app.on('incident', ({ incident }) => {
    if (incident.pointId === pointId) void loadHistory();
  });
  const ticker = setInterval(renderView, 15_000);
  const refresher = setInterval(() => {
    void loadHistory();
    void loadDay();
  }, 60_000);
  renderView();
  // Followed live from now on; the answer is its view now (a point not on the fleet page too).
  void app.watch('drawer', [pointId]).then(renderView);
  void loadCommands();
  void loadHistory();
  void loadDay();
  return () => {
    offPoints();
    offCommand();
    offIncident();
    clearInterval(ticker);
    clearInterval(refresher);
    plots.forEach((plot) => plot.destroy());
    void app.watch('drawer', []);
  };
}
