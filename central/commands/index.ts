export { CommandsPlugin } from './plugin.js';
export { CommandStore, COMMANDS_MIGRATIONS, type CommandRecord, type CommandStatus } from './store.js';
