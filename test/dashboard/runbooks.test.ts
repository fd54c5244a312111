import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { waitFor } from '../peers/net.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';
import { mainServerPeer, mainServerRunbook } from '../peers/recovery-peers.js';
import { startFleetCentral } from '../fleet/helpers.js';
import { DESKTOP, PHONE, launchBrowser, lookAt, signIn, userOf } from './browser.js';

interface Step {
  phase: string;
  stepId: string | null;
  by: string;
  ok: boolean | null;
}

describeWithPeers('runbooks on the dashboard (real main server process, real Chromium)', [peers.chromium()], () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  it('two approvers approve a waiting main-server restart from their phones; a planned failover starts by hand only after its plan is shown', async () => {
    const dir = tempDir('dash-runbooks');
    const server = await mainServerPeer(dir);
    await server.start();
    running.push({ stop: () => server.kill() });
    const marker = join(dir, 'switched-to-backup');
    const mainServer = mainServerRunbook(server, { every: '500ms', waitIntervalMs: 250 });
    // The restart is destructive here: with recovery.approvals 2 it waits for two people.
    const restart = mainServer.stages[0]!.steps.find((step) => step.id === 'restart')!;
    Object.assign(restart, { destructive: true });
    const central = await startFleetCentral(dir, {
      extra: {
        recovery: {
          approvals: 2,
          procedures: {
            'main-server': mainServer,
            failover: {
              description: 'planned switch to the backup server',
              probe: { checks: [{ type: 'command', argv: [process.execPath, '-e', ''] }] },
              stages: [{ name: 'switch', steps: [{ type: 'command', id: 'switch-to-backup', argv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'yes')`] }] }],
            },
          },
        },
      },
    });
    running.push(central);
    const port = central.httpPort!;
    const browser: Browser = await launchBrowser();
    running.push({ stop: () => browser.close() });
    const lasha = await signIn(browser, central, await userOf(central, 'lasha', 'approver'), PHONE, '#runbooks');
    const eka = await signIn(browser, central, await userOf(central, 'eka', 'approver'), PHONE, '#runbooks');
    const nino = await signIn(browser, central, await userOf(central, 'nino', 'operator'), DESKTOP, '#runbooks');
    const card = (page: typeof lasha.page, name: string) => page.locator(`article.procedure[data-procedure="${name}"]`);
    await card(lasha.page, 'main-server').locator('.badge[data-health="up"]').waitFor({ timeout: 20_000 });

    // Probe figures: one card per probed target, on the phone too (figures are read every 30 s and on load).
    await lasha.page.reload();
    const figure = lasha.page.locator('section.figures article.figure[data-target="main-server"]');
    await figure.waitFor({ timeout: 20_000 });
    expect(await lasha.page.locator('section.figures h2').textContent()).toBe('Probe figures');
    expect(await figure.locator('dt').allTextContents()).toEqual(['Response p50 / p95 (24 h)', 'Error rate (24 h)', 'Uptime 24 h / 30 days']);
    const [response, errors, uptime] = await figure.locator('dd').allTextContents();
    expect(response).toMatch(/^\d+ ms \/ \d+ ms$/);
    expect(errors).toBe('0.0 %');
    expect(uptime).toBe('100.0 % / 100.0 %');
    await lookAt(lasha.page, 'runbooks-figures');

    // The main server dies: the run diagnoses it, then waits for two approvals of the restart.
    await server.kill();
    const awaiting = card(lasha.page, 'main-server').locator('.awaiting');
    await awaiting.waitFor({ timeout: 30_000 });
    expect(await awaiting.locator('pre.what').textContent()).toMatch(/^needs approval: restart: run `.*service\.mjs restart .*` .*\[destructive\]$/);
    expect(await awaiting.locator('.approvals').textContent()).toBe('Approvals: 0 of 2');
    await lookAt(lasha.page, 'runbooks-awaiting');
    // An operator sees what waits but cannot approve.
    expect(await card(nino.page, 'main-server').locator('.awaiting button.approve').count()).toBe(0);

    await awaiting.locator('button.approve').click();
    const dialog = lasha.page.locator('dialog[open]');
    expect(await dialog.locator('pre.what').textContent()).toBe(await awaiting.locator('pre.what').textContent());
    expect(await dialog.textContent()).toContain('Yours is approval 1 of 2.');
    expect(await dialog.textContent()).toContain('After your approval it still waits for 1 more approver(s).');
    await lookAt(lasha.page, 'runbooks-approve-dialog');
    await dialog.locator('button[type="submit"]').click();
    await dialog.waitFor({ state: 'detached' });
    // The second approver's phone shows the first approval live.
    const ekaAwaiting = card(eka.page, 'main-server').locator('.awaiting');
    await ekaAwaiting.locator('.approvals', { hasText: 'Approvals: 1 of 2 — lasha' }).waitFor({ timeout: 10_000 });
    expect(server.pid()).toBeNull();
    await ekaAwaiting.locator('button.approve').click();
    const second = eka.page.locator('dialog[open]');
    expect(await second.textContent()).toContain('With your approval it runs at once.');
    await second.locator('button[type="submit"]').click();

    // The run goes on: restart, wait until up, resolved; the audit names both approvers.
    const run = eka.page.locator('li.run-item[data-status="resolved"]').filter({ hasText: 'main-server' });
    await run.waitFor({ timeout: 40_000 });
    expect(server.pid()).not.toBeNull();
    await run.locator(':scope > details > summary').click();
    const act = run.locator('li.step[data-phase="act"][data-step="restart"]');
    expect(await act.getAttribute('data-state')).toBe('ok');
    expect(await act.textContent()).toContain('by lasha and eka (approved)');
    const runs = await httpJson<Array<{ procedure: string; status: string; steps: Step[] }>>(port, 'GET', '/api/runbooks/runs');
    const audited = runs.body.find((r) => r.procedure === 'main-server')!;
    expect(audited.status).toBe('resolved');
    expect(audited.steps.filter((s) => s.phase === 'approval').map((s) => s.by)).toEqual(['lasha', 'eka']);
    expect(audited.steps.find((s) => s.phase === 'act' && s.stepId === 'restart')).toMatchObject({ ok: true, by: 'lasha and eka (approved)' });
    await lookAt(eka.page, 'runbooks-audit');

    // A planned failover by hand: the plan is on screen, and nothing has run, before the operator confirms.
    await card(nino.page, 'failover').locator('button.start').click();
    const plan = nino.page.locator('dialog[open] pre.plan');
    await plan.waitFor();
    expect(await plan.textContent()).toMatch(/switch-to-backup: run `.*writeFileSync.*`/);
    expect(existsSync(marker)).toBe(false);
    const before = await httpJson<Array<{ name: string; run: unknown }>>(port, 'GET', '/api/runbooks');
    expect(before.body.find((p) => p.name === 'failover')!.run).toBeNull();
    await lookAt(nino.page, 'runbooks-start-dialog');
    await nino.page.locator('dialog[open] textarea[name="reason"]').fill('planned maintenance of the main server');
    await nino.page.locator('dialog[open] button[type="submit"]').click();
    await waitFor(() => existsSync(marker), 'the failover command to run', 20_000);
    const started = nino.page.locator('li.run-item').filter({ hasText: 'failover' }).filter({ hasText: 'started by nino' });
    await started.waitFor({ timeout: 10_000 });
    await started.locator(':scope > details > summary').click();
    expect(await started.textContent()).toContain('planned maintenance of the main server');
    expect([...lasha.errors, ...eka.errors, ...nino.errors]).toEqual([]);
  });
});
