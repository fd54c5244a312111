import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { probePort } from './net.js';
import { ConfigError } from './config.js';

/**
 * Checks of a parsed config against the machine, run before a service starts anything: files
 * that must be there, directories it must write, ports it must bind. Each problem is one line
 * naming the key, so a typo reads as a typo and not as a stack trace from deep inside start-up.
 */
export type Problem = string | undefined;

/** The longest path the services accept (Linux's PATH_MAX is 4096; a component at most 255 bytes). */
const MAX_PATH_BYTES = 4095;
const MAX_NAME_BYTES = 255;

function pathProblem(key: string, path: string): Problem {
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `${key}: the path is longer than ${MAX_PATH_BYTES} bytes`;
  const long = path.split('/').find((part) => Buffer.byteLength(part) > MAX_NAME_BYTES);
  if (long !== undefined) return `${key}: the path has a name longer than ${MAX_NAME_BYTES} bytes (${long.slice(0, 20)}…)`;
  return undefined;
}

/** A file that must exist, be a regular file, readable, and at most `maxBytes`. */
export function readableFile(key: string, path: string | undefined, maxBytes: number): Problem {
  if (path === undefined) return undefined;
  const bad = pathProblem(key, path);
  if (bad) return bad;
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return `${key}: ${path} is a directory; name the file itself`;
    if (!stat.isFile()) return `${key}: ${path} is not a regular file`;
    size = stat.size;
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `${key}: ${path} does not exist`;
    if (code === 'EACCES' || code === 'EPERM') return `${key}: ${path} is not readable by this user`;
    return `${key}: cannot read ${path} (${code ?? (error as Error).message})`;
  }
  if (size > maxBytes) return `${key}: ${path} is ${size} bytes; at most ${maxBytes} are read`;
  return undefined;
}

/** A directory the service writes: made when missing, refused when it is a file or not writable. */
export function writableDir(key: string, path: string): Problem {
  const bad = pathProblem(key, path);
  if (bad) return bad;
  try {
    mkdirSync(path, { recursive: true });
    if (!statSync(path).isDirectory()) return `${key}: ${path} is not a directory`;
    accessSync(path, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') return `${key}: ${path} (or a parent) is a file, not a directory`;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `${key}: ${path} is not writable by this user (${code})`;
    return `${key}: cannot make ${path} (${code ?? (error as Error).message})`;
  }
  return undefined;
}

/** A port the service will listen on: free now, or say who must give it up. Port 0 picks one itself. */
export async function freeToBind(key: string, host: string, port: number): Promise<Problem> {
  if (port === 0) return undefined;
  const bound = await probePort(host, port);
  return bound === null ? `${key}: ${host}:${port} is already in use (or not an address of this machine); stop what holds it or pick another port` : undefined;
}

/** Throws one ConfigError with every problem found. */
export function throwProblems(problems: readonly Problem[]): void {
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length) throw new ConfigError(found);
}
