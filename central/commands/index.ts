export { PointCommands } from './commands.js';
export { CommandStore, type CommandRecord, type CommandStatus } from './store.js';
