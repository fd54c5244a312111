import { realpathSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeCommandResult, describeFailure, formatArgv, runCommand, succeeded } from '../../lib/command.js';
import { createRedactor } from '../../lib/redact.js';
import { tempDir } from '../helpers/hotpot.js';

const node = (code: string): string[] => [process.execPath, '-e', code];

describe('runCommand', () => {
  it('reports the exit code, the duration and what the program printed on stdout and stderr', async () => {
    const spec = { argv: node('console.log("to stdout"); console.error("to stderr"); process.exit(7)'), timeoutMs: 10_000 };
    const result = await runCommand(spec);
    expect(result).toMatchObject({ exitCode: 7, signal: null, timedOut: false });
    expect(result.output).toContain('to stdout');
    expect(result.output).toContain('to stderr');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.pid).toBeGreaterThan(0);
    expect(succeeded(result)).toBe(false);
    expect(describeCommandResult(spec, result)).toMatch(/^`.+ -e ".+"` exited 7 in \d+ ms$/);
    expect(describeFailure(spec, result)).toMatch(/exited 7 in \d+ ms: to stdout\nto stderr$/);
  });

  it('reports a program killed by a signal', async () => {
    const result = await runCommand({ argv: node('process.kill(process.pid, "SIGTERM")'), timeoutMs: 10_000 });
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
    expect(describeCommandResult({ argv: ['x'], timeoutMs: 1 }, result)).toMatch(/exited by SIGTERM/);
  });

  it('kills a program that ignores SIGTERM at its timeout, and says so', async () => {
    const spec = { argv: node('process.on("SIGTERM", () => {}); console.log("started"); setInterval(() => {}, 1000)'), timeoutMs: 3000 };
    const result = await runCommand(spec);
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null });
    expect(result.output).toContain('started');
    expect(result.durationMs).toBeGreaterThanOrEqual(3000);
    expect(describeCommandResult(spec, result)).toMatch(/timed out after 3000 ms and was killed \(SIGKILL\)$/);
    expect(() => process.kill(result.pid!, 0)).toThrow();
  });

  it('names a program that cannot start, with its errno code', async () => {
    const spec = { argv: ['/nonexistent/hotpot-tool', '--flag'], timeoutMs: 1000 };
    const result = await runCommand(spec);
    expect(result).toMatchObject({ exitCode: null, errorCode: 'ENOENT', timedOut: false });
    expect(result.error).toMatch(/ENOENT/);
    expect(succeeded(result)).toBe(false);
    expect(describeCommandResult(spec, result)).toMatch(/^`\/nonexistent\/hotpot-tool --flag` could not start: .*ENOENT/);
  });

  it('adds env to this process environment and runs in cwd', async () => {
    const dir = tempDir('command-cwd');
    const result = await runCommand({ argv: node('console.log(process.cwd(), process.env.HOTPOT_CMD_TEST, Boolean(process.env.PATH))'), env: { HOTPOT_CMD_TEST: 'set-by-spec' }, cwd: dir, timeoutMs: 10_000 });
    expect(succeeded(result)).toBe(true);
    expect(result.output.trim()).toBe(`${realpathSync(dir)} set-by-spec true`);
  });

  it('keeps the last characters of long output, with a secret cut at the edge still redacted', async () => {
    const secret = 'franchise-secret-9876';
    const result = await runCommand(
      { argv: node(`for (let i = 0; i < 20000; i++) console.log("line " + i); process.stdout.write("x".repeat(10) + "${secret}" + "y".repeat(40))`), timeoutMs: 10_000 },
      { redact: createRedactor([secret]), tailChars: 60 },
    );
    expect(result.output.length).toBeLessThanOrEqual(60);
    expect(result.output).not.toContain('9876');
    expect(result.output).toContain('[redacted]');
    expect(result.output.endsWith('y'.repeat(40))).toBe(true);
  });

  it('keeps stdout whole as bytes when asked, the output tail then being stderr alone', async () => {
    const result = await runCommand(
      { argv: node('process.stdout.write(Buffer.from([0, 255, 1, 254, 2])); console.error("said on stderr")'), timeoutMs: 10_000 },
      { stdoutMaxBytes: 16 },
    );
    expect(succeeded(result)).toBe(true);
    expect([...result.stdout!]).toEqual([0, 255, 1, 254, 2]);
    expect(result.stdoutOverflow).toBe(false);
    expect(result.output.trim()).toBe('said on stderr');
  });

  it('kills a program whose stdout goes past the cap', async () => {
    const spec = { argv: node('const chunk = "z".repeat(65536); setInterval(() => process.stdout.write(chunk), 1)'), timeoutMs: 20_000 };
    const result = await runCommand(spec, { stdoutMaxBytes: 100_000 });
    expect(result).toMatchObject({ stdoutOverflow: true, signal: 'SIGKILL', timedOut: false });
    expect(result.stdout!.length).toBeLessThanOrEqual(100_000);
    expect(succeeded(result)).toBe(false);
    expect(describeCommandResult(spec, result)).toMatch(/wrote more output than it may and was killed/);
  });

  it('passes each argument as it is, never through a shell', async () => {
    const result = await runCommand({ argv: ['echo', '$(id)', '; rm -rf /', '`whoami`'], timeoutMs: 5000 });
    expect(result.output.trim()).toBe('$(id) ; rm -rf / `whoami`');
  });
});

describe('formatArgv', () => {
  it('quotes only the arguments a reader would have to quote', () => {
    expect(formatArgv(['systemctl', 'restart', 'main server', '--now', 'a"b'])).toBe('systemctl restart "main server" --now "a\\"b"');
  });
});
