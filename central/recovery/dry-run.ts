import { isAction, needsApproval, type Procedure } from './config.js';
import { formatDuration } from '../../lib/duration.js';
import { describeProbes, describeStep } from './describe.js';
import { countsAsRestart, stageKey, type TargetState } from './planner.js';

/** The plan a run of `procedure` would follow from `state`, as text; nothing is executed. */
export function renderPlan(name: string, procedure: Procedure, state: TargetState, now: number): string {
  const budgetUsed = state.restarts.filter((at) => at > now - procedure.budget.window).length;
  const lines = [
    `Procedure "${name}" (target ${procedure.target ?? name}) — dry run: nothing is executed.`,
    `Detect: every ${formatDuration(procedure.probe.every)}, ${procedure.probe.failAfter} failed probe(s) in a row of: ${describeProbes(procedure.probe.checks)}.`,
    `Restart budget: ${budgetUsed} of ${procedure.budget.restarts} used in the last ${formatDuration(procedure.budget.window)}${budgetUsed >= procedure.budget.restarts ? ' — EXHAUSTED: restarts would be skipped and escalated' : ''}.`,
    `Now: target ${state.health}${state.run ? `, run ${state.run.id} ${state.run.status} (stage ${state.run.stage + 1}, step ${state.run.step + 1})` : ', no run active'}${state.escalated ? ', escalated (no automatic action until it is healthy again)' : ''}.`,
  ];
  procedure.stages.forEach((stage, stageIndex) => {
    const window = `${formatDuration(stage.window.from)}–${stage.window.to === undefined ? '…' : formatDuration(stage.window.to)}`;
    const stageApproval = stage.approval && !procedure.auto;
    lines.push(
      '',
      `Stage ${stageIndex + 1} "${stage.name}" (${window} after detection${stage.attempts > 1 ? `, up to ${stage.attempts} attempts` : ''}):${stageApproval ? ` WAITS FOR ONE APPROVAL of the whole stage (approve "${stageKey(stage.name)}"; restores are looked up first and shown)` : ''}`,
    );
    stage.steps.forEach((step, stepIndex) => {
      const guards: string[] = [];
      if (isAction(step)) {
        guards.push(stageApproval ? 'covered by the stage approval' : needsApproval(procedure, step) ? 'WAITS FOR APPROVAL' : 'automatic');
        guards.push(step.before ? `before: requires ${describeProbes(step.before)}` : 'before: checks target health (healthy and nothing changed yet → stop, nothing to do)');
        guards.push(step.after ? `after: waits up to ${formatDuration(step.after.timeoutMs)} for ${step.after.probes ? describeProbes(step.after.probes) : 'target health'}` : 'after: checks target health (audited)');
        if (countsAsRestart(step)) guards.push('skipped and escalated when the restart budget is exhausted');
      }
      const onFailure = 'onFailure' in step ? `; on failure: ${step.onFailure === 'continue' ? 'record and continue' : 'end the stage'}` : '';
      lines.push(`  ${stepIndex + 1}. ${describeStep(step)}${guards.length ? ` — ${guards.join('; ')}` : ''}${onFailure}`);
    });
    lines.push(`  then: verify target health → healthy: resolved; still down: ${stage.attempts > 1 ? 'repeat the stage, then ' : ''}next stage.`);
  });
  lines.push('', 'If every stage runs and the target is still down: a critical incident; no automatic action until the target is healthy again.');
  return lines.join('\n');
}
