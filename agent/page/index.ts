export { accessGate, clientOf, crossSiteProblem, GuardedRouter, StaffSessions, SESSION_COOKIE } from './access.js';
export { PageAssets } from './assets.js';
export { PinGate, pinRefused, type PinResult } from './pin-gate.js';
export { registerPageRoutes, type PageRouteDeps } from './routes.js';
