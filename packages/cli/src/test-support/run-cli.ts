import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI that the process-level tests spawn. */
export const CLI_BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/**
 * Runs the CLI in `cwd`; kills it with SIGKILL after `killAfterMs` unless it ends first.
 * Resolves with its exit code (null when killed) and what it wrote to stderr.
 */
export function runCli(args: string[], cwd: string, killAfterMs?: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
