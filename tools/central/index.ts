export { centralInitCommand, initCentralConfig, mergeRunbook, DEFAULT_CENTRAL_CONFIG, type InitOutcome } from './init.js';
export { centralCheckCommand, checkCentral, probeProcedure, type CheckReport } from './check.js';
export { centralPolkitCommand, renderPolkitRule, renderAllowList, parseAllowList, POLKIT_RULE_FILE, UNIT_ALLOW_LIST_FILE, SERVICE_USER } from './polkit.js';
export { runbookSections, runbookInputSchema, TABLES_QUERY, type RunbookInput, type RunbookSections } from './runbook.js';
export { managedUnits, unitsOfArgv, fullUnitName, recoveryArgvs, type ManagedUnit } from './units.js';
