export type { Incident, IncidentEvent, IncidentFeed, IncidentSink, RaiseIncident, Severity, TimelineEntry } from './types.js';
export { Incidents, INCIDENT_MIGRATIONS, type IncidentQuery, type IncidentWithTimeline } from './store.js';
export { registerIncidentRoutes } from './routes.js';
