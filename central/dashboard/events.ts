/** Event types the dashboard itself sends; plugins pick their own names (e.g. `runbooks`, `backups`). */
export const RESERVED_TYPES = ['snapshot', 'points', 'summary', 'incident', 'tick'] as const;

export const EVENT_TYPE = /^[a-z][a-z0-9-]{0,39}$/;
