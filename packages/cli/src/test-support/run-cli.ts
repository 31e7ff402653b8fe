import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seededRandom } from './seeded-random.js';

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
 * SIGKILLed after a delay in [minMs, minMs + spreadMs) drawn from the run's seed
 * (seeded-random.ts; each call a new stream of label `kills`) unless it ends first — counted from
 * the first stderr output matching `armOn` when given (e.g. the first committed checkpoint, so
 * that kills land mid-run, not during start-up) — (with
 * `stopWhenDone`, a run that ends stops the loop), then once more to the end. Resolves with how
 * many runs were killed; rejects with its stderr when a run that was not killed exits non-zero.
 */
export async function runWithRandomKills(dir: string, o: { attempts: number; minMs: number; spreadMs: number; logLevel?: string; stopWhenDone?: boolean; armOn?: RegExp }): Promise<number> {
  const args = ['run', 'p.yaml', '--once', '--log-level', o.logLevel ?? 'warn'];
  const delays = seededRandom('kills');
  let kills = 0;
  for (let k = 0; k < o.attempts; k++) {
    const r = await runCli(args, dir, delays.between(o.minMs, o.spreadMs), o.armOn);
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

/** A CLI process started by {@link startCli}: its stderr so far, a wait for a line, and its end. */
export interface CliProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** Resolves once stderr matches `pattern` (at once if it already does). */
  waitFor(pattern: RegExp): Promise<void>;
  /** Resolves when the process exits, with its code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Starts the CLI in `cwd` (a daemon: the caller stops it with a signal). */
export function startCli(args: string[], cwd: string): CliProcess {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const waiters = new Set<{ pattern: RegExp; resolve: () => void }>();
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters) if (w.pattern.test(stderr)) (waiters.delete(w), w.resolve());
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  return {
    child,
    stderr: () => stderr,
    waitFor: (pattern) => (pattern.test(stderr) ? Promise.resolve() : new Promise((resolve) => waiters.add({ pattern, resolve }))),
    exited,
  };
}
