import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli, runWithRandomKills } from './test-support/run-cli.js';

const EVENTS = 20_000;
const pipeline = (id: string): string => `id: ${id}
state: { type: directory, path: state }
sources:
  gen: { type: generate, seed: 7, count: ${EVENTS}, batch_size: 1000 }
sinks:
  out: { type: file, inputs: [gen], path: out.ndjson }
`;

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** The file sink's index in `dir`'s state directory, whatever the version names it (`out~index…log`). */
async function indexFile(dir: string): Promise<string> {
  const names = (await readdir(join(dir, 'state'), { recursive: true })).filter((n) => /(^|\/)out~index.*\.log$/.test(n));
  expect(names, 'one index log in state/').toHaveLength(1);
  return join(dir, 'state', names[0]!);
}

async function run(dir: string): Promise<{ code: number | null; stderr: string }> {
  return runCli(['run', 'p.yaml', '--once', '--log-level', 'info'], dir);
}

/** A pipeline run to the end in a new directory; `damage` is then applied to its index while it is stopped. */
async function completedRun(id = 'alpha'): Promise<{ dir: string; cleanup: () => Promise<void>; index: string; sha: string }> {
  const { dir, cleanup } = await tmpDir('plumline-index-');
  await writeFile(join(dir, 'p.yaml'), pipeline(id));
  const first = await run(dir);
  expect(first.code, first.stderr).toBe(0);
  return { dir, cleanup, index: await indexFile(dir), sha: await sha256(join(dir, 'out.ndjson')) };
}

const lineStarts = (text: string): number[] => [0, ...[...text.matchAll(/\n/g)].map((m) => m.index + 1).filter((i) => i < text.length)];

describe('file sink index damage (the real CLI; generate 20,000 → file, run to the end, index damaged while stopped)', () => {
  it('a torn last record is repaired exactly: the output stays byte-identical to a fault-free run, and a re-run adds nothing', { timeout: 60_000 }, async () => {
    const reference = await completedRun();
    const r = await completedRun();
    try {
      expect(r.sha).toBe(reference.sha);
      const text = await readFile(r.index, 'utf8');
      const starts = lineStarts(text);
      const last = starts[starts.length - 1]!;
      // Cut the last record in the middle of its line, as a process killed during the append leaves it.
      await truncate(r.index, last + Math.floor((text.length - last) / 2));
      const second = await run(r.dir);
      expect(second.code, second.stderr).toBe(0);
      expect(await sha256(join(r.dir, 'out.ndjson'))).toBe(reference.sha);
      const third = await run(r.dir);
      expect(third.code, third.stderr).toBe(0);
      expect(await sha256(join(r.dir, 'out.ndjson'))).toBe(reference.sha);
    } finally {
      await reference.cleanup();
      await r.cleanup();
    }
  });

  const refused: [string, (index: string, dir: string) => Promise<void>][] = [
    [
      'last record removed',
      async (index) => {
        const text = await readFile(index, 'utf8');
        const starts = lineStarts(text);
        await truncate(index, starts[starts.length - 1]!);
      },
    ],
    ['cut in half', async (index) => truncate(index, Math.floor((await readFile(index)).length / 2))],
    [
      'record 5 of 21 garbled',
      async (index) => {
        const lines = (await readFile(index, 'utf8')).split('\n');
        expect(lines.filter(Boolean).length).toBeGreaterThanOrEqual(21);
        const i = 4;
        lines[i] = lines[i]!.slice(0, 10) + 'XX' + lines[i]!.slice(12);
        await writeFile(index, lines.join('\n'));
      },
    ],
    ['index deleted', async (index) => rm(index)],
    [
      'index from another pipeline',
      async (index) => {
        const other = await completedRun('beta');
        try {
          await copyFile(other.index, index);
        } finally {
          await other.cleanup();
        }
      },
    ],
    [
      'index of the same pipeline from another state path',
      async (index) => {
        const other = await completedRun('alpha');
        try {
          await copyFile(other.index, index);
        } finally {
          await other.cleanup();
        }
      },
    ],
  ];

  for (const [name, damage] of refused) {
    it(`${name}: the start stops with STATE_CORRUPT naming the index, exit non-zero, no output byte removed`, { timeout: 60_000 }, async () => {
      const r = await completedRun();
      try {
        await damage(r.index, r.dir);
        const again = await run(r.dir);
        expect(again.code, again.stderr).not.toBe(0);
        expect(again.stderr).toContain('STATE_CORRUPT');
        expect(again.stderr).toContain(r.index.split('/').pop()!.replace(/\.log$/, ''));
        expect(await sha256(join(r.dir, 'out.ndjson'))).toBe(r.sha);
        // Refused again, not half-repaired by the first attempt.
        const once = await run(r.dir);
        expect(once.code).not.toBe(0);
        expect(await sha256(join(r.dir, 'out.ndjson'))).toBe(r.sha);
      } finally {
        await r.cleanup();
      }
    });
  }
});

describe('file sink crash recovery with a routed sink that sees few batches (the real CLI, SIGKILL at random points)', () => {
  it('ends exact after each trial (both sinks hold every event of theirs once, in order; no start refused)', { timeout: 180_000 }, async () => {
    const { CallGenerator } = await import('@plumline/core/sources');
    const count = 6000;
    const gen = new CallGenerator({ seed: 5, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
    const all = Array.from({ length: count }, (_, i) => gen.event(i));
    const errors = all.filter((e) => e.kind === 'error').map((e) => e.id);
    expect(errors.length).toBeGreaterThan(10);
    let kills = 0;
    for (let trial = 0; trial < 6; trial++) {
      const { dir, cleanup } = await tmpDir('plumline-routed-');
      try {
        await writeFile(
          join(dir, 'p.yaml'),
          `runtime: { commit_interval: 20ms }
state: { type: directory, path: state }
sources:
  gen: { type: generate, seed: 5, count: ${count}, batch_size: 5, rate: 20000 }
transforms:
  by_kind: { type: route, inputs: [gen], routes: { errors: { kind: error } } }
sinks:
  all: { type: file, inputs: [gen], path: all.ndjson }
  errors: { type: file, inputs: [by_kind.errors], path: errors.ndjson }
`,
        );
        kills += await runWithRandomKills(dir, { attempts: 3, minMs: 100, spreadMs: 400 });
        const ids = async (f: string) => (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
        expect(await ids('errors.ndjson'), `trial ${trial}`).toEqual(errors);
        expect(await ids('all.ndjson'), `trial ${trial}`).toEqual(all.map((e) => e.id));
      } finally {
        await cleanup();
      }
    }
    expect(kills).toBeGreaterThanOrEqual(6);
  });
});

describe('backing up a running pipeline (docs/operations.md: checkpoints, then head and index, then output)', () => {
  const yaml = `id: alpha
runtime: { commit_interval: 20ms }
state: { type: directory, path: state }
sources:
  gen: { type: generate, seed: 9, count: 20000, batch_size: 100, rate: 4000 }
sinks:
  out: { type: file, inputs: [gen], path: out.ndjson }
`;
  const copy = async (from: string, to: string, names: string[]) => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(to, { recursive: true });
    for (const n of names) await copyFile(join(from, n), join(to, n));
  };
  /** Runs alpha as a daemon, copies its files to `backup` in `order` while it runs (200 ms apart), stops it. */
  async function backupWhileRunning(dir: string, backup: string, order: ('checkpoints' | 'head' | 'index' | 'output')[]): Promise<void> {
    const { startCli } = await import('./test-support/run-cli.js');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(backup, 'state'), { recursive: true });
    // The pipeline's state directory; its checkpoints and the index's head are values in state.log.
    const state = join(dir, 'state', 'pipelines', 'alpha');
    const run = startCli(['run', 'p.yaml', '--log-level', 'info'], dir);
    await run.waitFor(/first checkpoint committed/);
    await new Promise((r) => setTimeout(r, 500));
    for (const what of order) {
      if (what === 'output') await copy(dir, backup, ['out.ndjson', '.out.ndjson.plumline-owner']);
      // LOCK too: it tells the store that the copy's writer did not stop cleanly (a last record cut by the copy is repaired).
      else if (what === 'checkpoints' || what === 'head') await copy(state, join(backup, 'state'), ['state.log', 'LOCK']);
      else await copy(state, join(backup, 'state'), ['out~index.alpha.log']);
      await new Promise((r) => setTimeout(r, 200));
    }
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }

  it('restored in that order, a run to the end gives the output of a fault-free run; restored from a backup that copied the index first, the start is refused and the output kept', { timeout: 120_000 }, async () => {
    const ref = await tmpDir('plumline-backup-ref-');
    const live = await tmpDir('plumline-backup-');
    const backup = await tmpDir('plumline-backup-copy-');
    try {
      await writeFile(join(ref.dir, 'p.yaml'), yaml);
      expect((await runCli(['run', 'p.yaml', '--once'], ref.dir)).code).toBe(0);
      const expected = await sha256(join(ref.dir, 'out.ndjson'));
      await writeFile(join(live.dir, 'p.yaml'), yaml);
      await backupWhileRunning(live.dir, backup.dir, ['checkpoints', 'head', 'index', 'output']);
      // Restore in place (the index names files by their absolute paths).
      await rm(join(live.dir, 'state'), { recursive: true });
      await rm(join(live.dir, 'out.ndjson'));
      await copy(join(backup.dir, 'state'), join(live.dir, 'state', 'pipelines', 'alpha'), await readdir(join(backup.dir, 'state')));
      await copy(backup.dir, live.dir, ['out.ndjson', '.out.ndjson.plumline-owner']);
      const restored = await runCli(['run', 'p.yaml', '--once'], live.dir);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await sha256(join(live.dir, 'out.ndjson'))).toBe(expected);

      // The wrong order: the index and head first, the checkpoints and the output later.
      await rm(join(live.dir, 'state'), { recursive: true });
      await rm(join(live.dir, 'out.ndjson'));
      await rm(join(backup.dir, 'state'), { recursive: true });
      await backupWhileRunning(live.dir, backup.dir, ['head', 'index', 'checkpoints', 'output']);
      await rm(join(live.dir, 'state'), { recursive: true });
      await copy(join(backup.dir, 'state'), join(live.dir, 'state', 'pipelines', 'alpha'), await readdir(join(backup.dir, 'state')));
      await copy(backup.dir, live.dir, ['out.ndjson', '.out.ndjson.plumline-owner']);
      const kept = await sha256(join(live.dir, 'out.ndjson'));
      const wrong = await runCli(['run', 'p.yaml', '--once'], live.dir);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain('STATE_CORRUPT');
      expect(await sha256(join(live.dir, 'out.ndjson'))).toBe(kept);
    } finally {
      await ref.cleanup();
      await live.cleanup();
      await backup.cleanup();
    }
  });
});
