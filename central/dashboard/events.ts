/** Event types the dashboard itself sends; plugins pick their own names (e.g. `runbook`, `backup`). */
export const RESERVED_TYPES = ['snapshot', 'points', 'incident'] as const;

export const EVENT_TYPE = /^[a-z][a-z0-9-]{0,39}$/;
