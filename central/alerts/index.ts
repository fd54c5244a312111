export { alertsConfigSchema, type AlertsConfig } from './config.js';
export {
  RULES,
  areaKey,
  evaluateFleet,
  parseAlertKey,
  pointAlerts,
  pointKey,
  type Alert,
  type FleetPlan,
  type PointAlerts,
  type RuleName,
} from './rules.js';
export { AlertsPlugin } from './plugin.js';
