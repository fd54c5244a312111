export { MenuModule } from './module.js';
