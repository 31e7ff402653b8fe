import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli, startCli } from './test-support/run-cli.js';
import { seededRandom } from './test-support/seeded-random.js';

/** Many commits per run (commit_interval 20 ms over a rate-limited source), so "the last commit" is one of dozens. */
const pipeline = (rate: number): string => `id: alpha
runtime: { commit_interval: 20ms }
state: { type: directory, path: state }
sources:
  gen: { type: generate, seed: 11, count: 20000, batch_size: 250, rate: ${rate} }
sinks:
  out: { type: file, inputs: [gen], path: out.ndjson }
`;

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
const stateLog = (dir: string): string => join(dir, 'state', 'pipelines', 'alpha', 'state.log');

/** state.log without its last `n` records (lines), as `head -n -<n>` leaves it. */
async function dropLastRecords(dir: string, n: number): Promise<void> {
  const lines = (await readFile(stateLog(dir), 'utf8')).split('\n').filter(Boolean);
  await writeFile(stateLog(dir), lines.slice(0, -n).map((l) => `${l}\n`).join(''));
}

/**
 * state.log without the records of its last checkpoint commit: its checkpoints, the index head
 * written just before them, and what came after (the head the sink notes at close).
 */
async function dropLastCommit(dir: string): Promise<number> {
  const lines = (await readFile(stateLog(dir), 'utf8')).split('\n').filter(Boolean);
  let i = lines.length - 1;
  while (i > 0 && !lines[i]!.includes('"k":"checkpoints"')) i--;
  while (i > 0 && !lines[i]!.includes('"k":"out/index.alpha.head"')) i--;
  expect(i, 'state.log holds index heads of several commits').toBeGreaterThan(3);
  await writeFile(stateLog(dir), lines.slice(0, i).map((l) => `${l}\n`).join(''));
  return lines.length - i;
}

describe('state.log rolled back by whole commits after a clean close (the real CLI; generate 20,000 → file, --once to the end)', () => {
  const rollbacks: [string, (dir: string) => Promise<unknown>][] = [
    ['the records of the last commit removed (index head and checkpoints)', dropLastCommit],
    ['head -n -3', (dir) => dropLastRecords(dir, 3)],
    ['head -n -10', (dir) => dropLastRecords(dir, 10)],
  ];
  for (const [name, rollBack] of rollbacks) {
    it(`${name}: the start stops with STATE_CORRUPT naming state.log, and no output byte changes`, { timeout: 60_000 }, async () => {
      const { dir, cleanup } = await tmpDir('plumline-rollback-');
      try {
        await writeFile(join(dir, 'p.yaml'), pipeline(20000));
        const first = await runCli(['run', 'p.yaml', '--once'], dir);
        expect(first.code, first.stderr).toBe(0);
        const sha = await sha256(join(dir, 'out.ndjson'));
        await rollBack(dir);
        const again = await runCli(['run', 'p.yaml', '--once'], dir);
        expect(again.code, again.stderr).not.toBe(0);
        expect(again.stderr).toContain('STATE_CORRUPT');
        expect(again.stderr).toContain(stateLog(dir));
        expect(await sha256(join(dir, 'out.ndjson'))).toBe(sha);
        const once = await runCli(['run', 'p.yaml', '--once'], dir);
        expect(once.code).not.toBe(0);
        expect(await sha256(join(dir, 'out.ndjson'))).toBe(sha);
      } finally {
        await cleanup();
      }
    });
  }

  it('SIGKILL and SIGTERM at random points (real processes) still end with the output of a fault-free run, and no start is refused', { timeout: 240_000 }, async () => {
    const ref = await tmpDir('plumline-rollback-ref-');
    const { dir, cleanup } = await tmpDir('plumline-rollback-kills-');
    try {
      await writeFile(join(ref.dir, 'p.yaml'), pipeline(20000));
      expect((await runCli(['run', 'p.yaml', '--once'], ref.dir)).code).toBe(0);
      const expected = await sha256(join(ref.dir, 'out.ndjson'));
      // Slower here: 16 runs of at most ~0.4 s each do not reach the end, so every one is cut short.
      await writeFile(join(dir, 'p.yaml'), pipeline(4000));
      const random = seededRandom('rollback kills');
      let kills = 0;
      let stops = 0;
      for (let round = 0; round < 16; round++) {
        const run = startCli(['run', 'p.yaml', '--once', '--log-level', 'info'], dir);
        // Stopped just after the start (recovery, the rollback check) or mid-run, at random.
        await Promise.race([run.waitFor(/pipeline started/), run.exited]);
        await new Promise((r) => setTimeout(r, random.between(0, 400)));
        // Every fourth a clean stop: the next start then checks the state against the index (a rollback check that must not fire).
        const signal = round % 4 === 3 ? 'SIGTERM' : 'SIGKILL';
        run.child.kill(signal);
        const code = await run.exited;
        if (code === null) kills++;
        else {
          expect(code, `round ${round} (${signal}): ${run.stderr()}`).toBe(0);
          if (signal === 'SIGTERM') stops++;
        }
        expect(run.stderr()).not.toContain('STATE_CORRUPT');
      }
      const last = await runCli(['run', 'p.yaml', '--once'], dir);
      expect(last.code, last.stderr).toBe(0);
      expect(await sha256(join(dir, 'out.ndjson'))).toBe(expected);
      console.log(`state rollback check under faults: ${kills} SIGKILLs, ${stops} clean stops, output equal to a fault-free run`);
      expect(kills).toBeGreaterThanOrEqual(10);
      expect(stops).toBeGreaterThanOrEqual(2);
    } finally {
      await ref.cleanup();
      await cleanup();
    }
  });
});
