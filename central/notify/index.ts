export { notifyConfigSchema, type NotifyConfig, type Channel } from './config.js';
export { Notifier, type NotifierOptions, type AckLinkStatus } from './notifier.js';
export { registerNotifyRoutes } from './routes.js';
export { ackToken, ackUrl, verifyAckToken } from './ack-link.js';
export { dueNotices, escalationPhase, type EscalationState, type SendRecord, type DueNotice } from './ladder.js';
export { NotifyPlugin } from './plugin.js';
export { NOTIFY_MIGRATIONS } from './store.js';
