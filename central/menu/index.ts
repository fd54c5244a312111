export { MenuPlugin, MENU_MIGRATIONS } from './plugin.js';
