export { alertsConfigSchema, type AlertsConfig } from './config.js';
export {
  RULES,
  areaKey,
  areaOutage,
  correlate,
  endOfDayKey,
  endOfDayMismatch,
  evaluateFleet,
  parseAlertKey,
  pointAlerts,
  pointKey,
  type Alert,
  type FleetPlan,
  type PointAlerts,
  type PointPlan,
  type RuleName,
} from './rules.js';
export { FleetAlerts } from './engine.js';
