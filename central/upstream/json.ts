import type { z } from 'zod';

/** Text that should be JSON of `schema`'s shape (an answer, a stored value, a signal): its value, or null when it is not. */
export function parseJsonAs<S extends z.ZodType>(schema: S, text: string | null | undefined): z.output<S> | null {
  if (text === null || text === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
