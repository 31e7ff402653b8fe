import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI that the process-level tests spawn. */
export const CLI_BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/**
 * Runs the CLI in `cwd`; kills it with SIGKILL after `killAfterMs` unless it ends first.
 * Resolves with its exit code (null when killed) and what it wrote to stderr.
 */
export function runCli(args: string[], cwd: string, killAfterMs?: number, armOn?: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (killAfterMs !== undefined && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (armOn && armOn.test(stderr)) arm();
    });
    if (!armOn) arm();
    child.on('error', reject);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/**
 * The crash tests' loop: runs `plumline run p.yaml --once` in `dir` up to `attempts` times, each
 * SIGKILLed after a random delay in [minMs, minMs + spreadMs) unless it ends first — counted from
 * the first stderr output matching `armOn` when given (e.g. the first committed checkpoint, so
 * that kills land mid-run, not during start-up) — (with
 * `stopWhenDone`, a run that ends stops the loop), then once more to the end. Resolves with how
 * many runs were killed; rejects with its stderr when a run that was not killed exits non-zero.
 */
export async function runWithRandomKills(dir: string, o: { attempts: number; minMs: number; spreadMs: number; logLevel?: string; stopWhenDone?: boolean; armOn?: RegExp }): Promise<number> {
  const args = ['run', 'p.yaml', '--once', '--log-level', o.logLevel ?? 'warn'];
  let kills = 0;
  for (let k = 0; k < o.attempts; k++) {
    const r = await runCli(args, dir, o.minMs + Math.floor(Math.random() * o.spreadMs), o.armOn);
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
