import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A config that failed validation; `problems` has one line per bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
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
  const def = (inner as unknown as { def: { type: string } }).def;
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
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
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
