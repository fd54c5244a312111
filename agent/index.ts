export { Agent, type AgentDeps, type Receipts } from './agent.js';
export { agentConfigSchema, loadAgentConfig, type AgentConfig } from './config.js';
export { OrderStore, MIGRATIONS } from './store.js';
export { StoreCorruptError } from '../lib/sqlite.js';
export { LinkHealth, type HealthProvider, type HealthSnapshot } from './health.js';
export { OrderRequest, priceItems } from './orders.js';
