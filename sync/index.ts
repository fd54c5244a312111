export * from './protocol.js';
export * from './schemas.js';
export { MqttLink, NotConnectedError, type MqttLinkOptions, type Will } from './mqtt.js';
export { Outbox, type OutboxOptions, type OutboxSource } from './outbox.js';
export { Ingest, type IngestOptions, type IngestStore } from './ingest.js';
