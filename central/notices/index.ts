export { NoticesPlugin, NoticeRequest, type NoticesApi } from './plugin.js';
export { NoticeStore, NOTICES_MIGRATIONS, type StoredNotice } from './store.js';
