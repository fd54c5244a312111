import { h, clear, fmtAgo, fmtTime, CONDITION_LABEL } from './dom.js';

/** The point detail drawer: facts, checks, commands, charts and a timeline; refreshed live. */
const COMMANDS = [
  { name: 'resync', label: 'Resync orders', help: 'send every unsynced order again' },
  { name: 'reprint', label: 'Reprint last receipt', help: 'print the newest order again' },
  { name: 'rebirth', label: 'Rebirth', help: 'publish status and health again' },
];

let current = null;

export function closePointDetail() {
  if (!current) return;
  current.stop();
  current = null;
  const aside = document.getElementById('detail');
  aside.hidden = true;
  clear(aside);
  document.body.classList.remove('detail-open');
}

export function openPointDetail(app, pointId) {
  closePointDetail();
  const aside = document.getElementById('detail');
  aside.hidden = false;
  document.body.classList.add('detail-open');
  const facts = h('dl', { class: 'facts' });
  const checks = h('table', { class: 'checks' });
  const badge = h('span', { class: 'badge' });
  const commandList = h('ul', { class: 'commands' });
  const commandError = h('p', { class: 'error', hidden: true });
  const charts = h('div', { class: 'charts' });
  const timeline = h('ol', { class: 'timeline' });
  const extra = h('div', { class: 'extra' });
  const close = () => {
    history.replaceState(null, '', location.pathname + location.search);
    closePointDetail();
  };
  aside.append(
    h('header', {}, h('h2', {}, pointId), badge, h('button', { class: 'close', title: 'close', 'aria-label': 'close', onclick: close }, '×')),
    facts,
    h('h3', {}, 'Checks'),
    checks,
    h('h3', {}, 'Commands'),
    h(
      'div',
      { class: 'command-buttons' },
      COMMANDS.map((c) => h('button', { title: c.help, dataset: { command: c.name }, onclick: () => send(c.name) }, c.label)),
    ),
    commandError,
    commandList,
    h('h3', {}, 'Last 24 h'),
    charts,
    extra,
    h('h3', {}, 'Timeline'),
    timeline,
  );

  async function send(name) {
    commandError.hidden = true;
    try {
      await app.api(`/api/points/${encodeURIComponent(pointId)}/commands`, { method: 'POST', body: { name } });
    } catch (error) {
      commandError.hidden = false;
      commandError.textContent = error.message;
    }
    await loadCommands();
  }

  function renderView() {
    const p = app.points.get(pointId);
    clear(facts);
    clear(checks);
    if (!p) {
      facts.append(h('dt', {}, 'state'), h('dd', {}, 'this point has not reported to central'));
      return;
    }
    badge.textContent = CONDITION_LABEL[p.condition];
    badge.dataset.condition = p.condition;
    const now = app.now();
    const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
    facts.append(
      ...row('group', p.group),
      ...row('connection', p.connected ? 'connected' : p.stale ? `silent for ${fmtAgo(now - p.lastSeen)}` : `offline for ${fmtAgo(now - (p.disconnectedSince ?? now))}`),
      ...row('mode', p.mode ? `${p.mode === 'offline' ? 'manual orders' : 'online'} for ${fmtAgo(now - p.modeSince)}` : '—'),
      ...row('last seen', p.lastSeen ? `${fmtTime(p.lastSeen)} (${fmtAgo(now - p.lastSeen)} ago)` : '—'),
      ...row('unsynced', p.unsynced === null ? '—' : p.unsynced ? `${p.unsynced}, oldest ${fmtAgo(p.oldestUnsyncedAgeMs)} old` : '0'),
      ...row('clock skew', p.clockSkewMs === null ? '—' : `${(p.clockSkewMs / 1000).toFixed(1)} s`),
      ...row('version', p.version ?? '—'),
    );
    checks.append(h('tr', {}, h('th', {}, 'check'), h('th', {}, 'status'), h('th', {}, 'detail'), h('th', {}, 'since')));
    for (const [name, check] of Object.entries(p.checks)) {
      checks.append(
        h('tr', { dataset: { status: check.status } }, h('td', {}, name), h('td', { class: 'status' }, check.status), h('td', {}, check.detail), h('td', {}, fmtTime(check.since))),
      );
    }
  }

  async function loadCommands() {
    try {
      const list = await app.api(`/api/points/${encodeURIComponent(pointId)}/commands?limit=10`);
      clear(commandList);
      for (const c of list) {
        commandList.append(
          h('li', { dataset: { status: c.status, id: c.id } }, h('b', {}, c.name), ` ${c.status} `, h('small', {}, `${fmtTime(c.resultAt ?? c.sentAt)} ${c.detail}`)),
        );
      }
    } catch (error) {
      commandList.textContent = error.message;
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
      clear(timeline);
      const items = [
        ...history.events.map((e) => ({ at: e.at, kind: e.kind, text: `${e.kind.replace('check:', '')} → ${e.value}${e.detail ? ` (${e.detail})` : ''}` })),
        ...incidents.map((i) => ({ at: i.openedAt, kind: 'incident', text: `incident ${i.status}: ${i.title}` })),
      ].sort((a, b) => b.at - a.at);
      for (const item of items.slice(0, 200)) timeline.append(h('li', { dataset: { kind: item.kind } }, h('time', {}, fmtTime(item.at)), ' ', item.text));
      if (!items.length) timeline.append(h('li', {}, 'nothing recorded yet'));
    } catch (error) {
      timeline.textContent = error.message;
    }
  }

  function drawCharts(series) {
    plots.forEach((plot) => plot.destroy());
    plots = [];
    clear(charts);
    if (!window.uPlot || series.length < 2) {
      charts.append(h('p', { class: 'muted' }, series.length < 2 ? 'not enough samples yet' : 'chart library not loaded'));
      return;
    }
    const width = Math.max(240, (charts.clientWidth || 320) - 8);
    const xs = series.map((s) => s.at / 1000);
    const chart = (title, lines) => {
      const shown = lines.filter((l) => series.some((s) => s[l.key] !== null));
      if (!shown.length) return;
      const el = h('div', { class: 'chart' });
      charts.append(el);
      plots.push(
        new window.uPlot(
          {
            title,
            width,
            height: 140,
            scales: { x: { time: true } },
            series: [{}, ...shown.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, spanGaps: true }))],
            axes: [{}, { size: 40 }],
          },
          [xs, ...shown.map((l) => series.map((s) => s[l.key]))],
          el,
        ),
      );
    };
    chart('Box use %', [
      { key: 'cpu', label: 'cpu', color: '#1565c0' },
      { key: 'memory', label: 'memory', color: '#6a1b9a' },
      { key: 'disk', label: 'disk', color: '#ef6c00' },
    ]);
    chart('Unsynced orders', [{ key: 'unsynced', label: 'unsynced', color: '#c62828' }]);
  }

  for (const section of app.pointSections) {
    const body = h('div');
    extra.append(h('h3', {}, section.title), body);
    try {
      section.render(body, pointId, app);
    } catch (error) {
      body.textContent = `section failed: ${error.message}`;
    }
  }

  const offPoints = app.on('points', ({ all, changed }) => {
    if (all || changed.some((p) => p.pointId === pointId)) renderView();
  });
  const offCommand = app.on('command', (c) => {
    if (c.pointId === pointId) void loadCommands();
  });
  const offIncident = app.on('incident', ({ incident }) => {
    if (incident.pointId === pointId) void loadHistory();
  });
  const ticker = setInterval(renderView, 5000);
  const refresher = setInterval(loadHistory, 60_000);
  current = {
    stop() {
      offPoints();
      offCommand();
      offIncident();
      clearInterval(ticker);
      clearInterval(refresher);
      plots.forEach((plot) => plot.destroy());
    },
  };
  renderView();
  void loadCommands();
  void loadHistory();
}
