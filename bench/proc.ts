import { runCommand } from '../lib/command.js';

/** The kernel's clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times; 100 when getconf cannot say. */
export async function clockTicksPerSecond(): Promise<number> {
  const result = await runCommand({ argv: ['getconf', 'CLK_TCK'], timeoutMs: 5000 });
  return (result.exitCode === 0 && Number(result.output.trim())) || 100;
}
