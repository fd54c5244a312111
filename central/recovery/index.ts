export { recoveryConfigSchema, backupsConfigSchema, type RecoveryConfig, type BackupsConfig, type Procedure } from './config.js';
export { RecoveryEngine, ApprovalError, type RecoveryEngineOptions, type BackupRestorer, type HealthListener, type ProcedureSummary } from './engine.js';
export { createPlanner, initialState, type Health, type TargetState, type RunbookEvent, type Decision, type Work, type Effect } from './planner.js';
export { renderPlan } from './dry-run.js';
export { HostWatch, evaluateHost, type HostSample } from './host-watch.js';
export { registerRecoveryRoutes } from './http.js';
export type { RunRecord, StepRecord } from './audit.js';
export { RecoveryModule } from './module.js';
