import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A config that failed validation; `problems` has one line per bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * One line per problem, naming the key. An unknown key (every config object is strict, so a typo
 * cannot silently leave a setting at its default) names the known key it most resembles, or where
 * a key of an older release moved (`moved`: old dotted path → new one).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], schema?: z.ZodType, moved: Record<string, string> = {}): string[] {
  return issues.flatMap((issue) => {
    const at = issue.path.map(String);
    // zod keeps `input` only with reportInput; its default message still ends "received undefined".
    const missing = issue.code === 'invalid_type' && ('input' in issue ? issue.input === undefined : /received undefined$/.test(issue.message));
    if (missing) {
      // A schema's own message for a missing value (e.g. a CLI's "is required, e.g. …") says more than ours.
      const own = !/^Invalid input/.test(issue.message);
      return [`${at.join('.')}: ${own ? issue.message : `missing (required; ${issue.expected} expected)`}`];
    }
    if (issue.code !== 'unrecognized_keys') return [`${at.length ? at.join('.') : '(root)'}: ${issue.message}`];
    const known = schema ? keysAt(schema, at) : [];
    return issue.keys.map((key) => {
      const path = [...at, key].join('.');
      if (moved[path]) return `${path}: this key moved to ${moved[path]}`;
      const near = closest(key, known);
      return `${path}: unknown key${near ? ` (did you mean ${[...at, near].join('.')}?)` : ''}`;
    });
  });
}

/** The keys the object schema(s) at `path` know (through defaults, optionals, pipes, records, arrays and unions). */
function keysAt(schema: AnySchema, path: readonly string[]): string[] {
  type Def = { type: string; valueType?: AnySchema; element?: AnySchema; options?: AnySchema[]; in?: AnySchema };
  const defOf = (node: AnySchema) => (node as unknown as { def: Def }).def;
  // One schema may stand for several shapes (a union of step kinds): follow every one.
  const expand = (node: AnySchema): AnySchema[] => {
    const inner = unwrap(node);
    const def = defOf(inner);
    if (def.type === 'union' && def.options) return def.options.flatMap(expand);
    if (def.type === 'pipe' && def.in) return expand(def.in);
    return [inner];
  };
  let nodes = expand(schema);
  for (const segment of path) {
    nodes = nodes.flatMap((node) => {
      const def = defOf(node);
      const next = def.type === 'object' ? ((node as z.ZodObject).shape as Record<string, AnySchema>)[segment] : def.type === 'record' ? def.valueType : def.type === 'array' ? def.element : undefined;
      return next ? expand(next) : [];
    });
  }
  return [...new Set(nodes.flatMap((node) => (defOf(node).type === 'object' ? Object.keys((node as z.ZodObject).shape) : [])))];
}

/** The known key within two edits of `key`, if one is. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

type AnySchema = z.ZodType;

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = (current as unknown as { def: { type: string; innerType?: AnySchema } }).def;
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'nullable') && def.innerType) {
      current = def.innerType;
    } else {
      return current;
    }
  }
}

/** `checks.internet.failAfter` → `HOTPOT_CHECKS_INTERNET_FAIL_AFTER`. */
export function envName(path: readonly string[]): string {
  return `HOTPOT_${path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

interface Leaf {
  path: string[];
  kind: string;
}

function leaves(schema: AnySchema, path: string[] = []): Leaf[] {
  const inner = unwrap(schema);
  const def = (inner as unknown as { def: { type: string; in?: AnySchema } }).def;
  // A transformed object (a shorthand normalized) takes the keys of what goes in.
  if (def.type === 'pipe' && def.in) return leaves(def.in, path);
  if (def.type === 'object') {
    const shape = (inner as z.ZodObject).shape as Record<string, AnySchema>;
    return Object.entries(shape).flatMap(([key, child]) => leaves(child, [...path, key]));
  }
  return [{ path, kind: def.type }];
}

function parseEnvValue(raw: string, kind: string): unknown {
  if (kind === 'string' || kind === 'enum' || kind === 'literal') return raw;
  if (kind === 'array' && !raw.trim().startsWith('[')) {
    return raw.split(',').map((part) => part.trim()).filter(Boolean);
  }
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

export interface LoadConfigOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values under the file and env, e.g. the demo's. */
  base?: Record<string, unknown>;
  /** Keys an older release had elsewhere: old dotted path → new one, named in the error. */
  moved?: Record<string, string>;
}

/**
 * Reads a JSON config file (optional), lays `HOTPOT_<PATH>` environment variables over it and
 * validates the result. Throws ConfigError naming every bad key.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.output<S> {
  const problems: string[] = [];
  let raw: Record<string, unknown> = structuredClone(options.base ?? {});
  if (options.file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(options.file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`${options.file}: the config file must hold a JSON object`);
      } else {
        raw = deepMerge(raw, parsed as Record<string, unknown>);
      }
    } catch (error) {
      problems.push(`${options.file}: cannot read the config file (${(error as Error).message})`);
    }
  }
  const env = options.env ?? process.env;
  for (const leaf of leaves(schema)) {
    const value = env[envName(leaf.path)];
    if (value !== undefined) setPath(raw, leaf.path, parseEnvValue(value, leaf.kind));
  }
  if (problems.length) throw new ConfigError(problems);
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, schema, options.moved));
  return result.data;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    const bothObjects =
      typeof value === 'object' && value !== null && !Array.isArray(value) &&
      typeof prior === 'object' && prior !== null && !Array.isArray(prior);
    out[key] = bothObjects ? deepMerge(prior as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return out;
}
