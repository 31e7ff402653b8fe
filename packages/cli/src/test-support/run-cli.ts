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

/**
 * The crash tests' loop: runs `plumline run p.yaml --once` in `dir` up to `attempts` times, each
 * SIGKILLed after a random delay in [minMs, minMs + spreadMs) unless it ends first (with
 * `stopWhenDone`, a run that ends stops the loop), then once more to the end. Resolves with how
 * many runs were killed; rejects with its stderr when a run that was not killed exits non-zero.
 */
export async function runWithRandomKills(dir: string, o: { attempts: number; minMs: number; spreadMs: number; logLevel?: string; stopWhenDone?: boolean }): Promise<number> {
  const args = ['run', 'p.yaml', '--once', '--log-level', o.logLevel ?? 'warn'];
  let kills = 0;
  for (let k = 0; k < o.attempts; k++) {
    const r = await runCli(args, dir, o.minMs + Math.floor(Math.random() * o.spreadMs));
    if (r.code === null) kills++;
    else {
      if (r.code !== 0) throw new Error(`plumline run exited ${r.code}: ${r.stderr}`);
      if (o.stopWhenDone) break;
    }
  }
  const last = await runCli(args, dir);
  if (last.code !== 0) throw new Error(`the final plumline run exited ${last.code}: ${last.stderr}`);
  return kills;
}
