/** Reads `a.b.0.c` (a leading `$.` is allowed) from parsed JSON; undefined when any part is missing. */
export function readJsonPath(value: unknown, path: string): unknown {
  const parts = path.replace(/^\$\.?/, '').split('.').filter(Boolean);
  let current: unknown = value;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
