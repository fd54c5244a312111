export { UpstreamPlugin, type UpstreamDeps } from './plugin.js';
export { upstreamConfigSchema, type UpstreamConfig } from './config.js';
export { forwardBacklog, UPSTREAM_MIGRATIONS, type Backlog } from './store.js';
export { toUpstreamBody, type UpstreamBody, type RecordSale } from './body.js';
export type { ForwardingView } from './loop.js';
export { RedriveRequest, type RedriveReply } from './http.js';
export { redriveCommand } from './cli.js';
