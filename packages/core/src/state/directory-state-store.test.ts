import { spawnSync } from 'node:child_process';
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { corePlugins, createPipeline, PluginRegistry, type JsonValue } from '../index.js';
import { createLogger } from '../logger.js';
import { memorySink } from '../testing/index.js';
import { tmpDir } from '../testing/tmp-dir.js';
import { DirectoryStateStore } from './directory-state-store.js';

const logger = createLogger({ level: 'silent' });
/** The built store (the child process runs plain JavaScript). */
const storeModule = fileURLToPath(new URL('../../dist/state/directory-state-store.js', import.meta.url));

/** Runs `generate count → memory` as pipeline `id` on the directory store at `dir`; the events the sink got. */
async function runGenerate(dir: string, id: string, count: number, sourceId = 'gen'): Promise<number> {
  const sink = memorySink();
  const pipeline = await createPipeline(
    { id, state: { type: 'directory', path: dir }, sources: { [sourceId]: { type: 'generate', count, batch_size: 100 } }, sinks: { out: { type: 'memory', inputs: [sourceId] } } },
    { plugins: new PluginRegistry([...corePlugins, sink.plugin]), once: true, logger },
  );
  await pipeline.start();
  await pipeline.done;
  return sink.record.events.length;
}

/** Opens the store of pipeline `id` at `dir`, runs `fn`, closes it (cleanly: the lock is removed). */
async function withStore<T>(dir: string, id: string, fn: (s: DirectoryStateStore) => Promise<T>): Promise<T> {
  const store = new DirectoryStateStore(dir, { pipelineId: id, logger });
  await store.open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Writes `values` under `checkpoints` in a child process that is then killed with SIGKILL (its
 * lock stays behind, as after a crash); `tail` is appended to the record log afterwards, as the
 * last write the kill cut short.
 */
function writeThenKill(dir: string, id: string, values: JsonValue[]): void {
  const script = `
    const { DirectoryStateStore } = await import(${JSON.stringify(storeModule)});
    const s = new DirectoryStateStore(${JSON.stringify(dir)}, { pipelineId: ${JSON.stringify(id)} });
    await s.open();
    for (const v of ${JSON.stringify(values)}) await s.set('checkpoints', v);
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

const stateLog = (dir: string, id: string): string => join(dir, 'pipelines', id, 'state.log');

describe('directory state store: state belongs to a pipeline', () => {
  it('two pipelines with different ids in one state directory each read and write only their own checkpoints', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      expect(await runGenerate(dir, 'alpha', 1000)).toBe(1000);
      // beta has a source of the same id: on one shared checkpoint it started at alpha's 1000.
      expect(await runGenerate(dir, 'beta', 3000)).toBe(3000);
      // Each resumes from its own checkpoint: nothing more to read.
      expect(await runGenerate(dir, 'alpha', 1000)).toBe(0);
      expect(await runGenerate(dir, 'beta', 3500)).toBe(500);
    } finally {
      await cleanup();
    }
  });

  it('a pipeline started with another pipeline\'s state file refuses with STATE_CORRUPT naming the file', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await runGenerate(dir, 'alpha', 1000);
      await mkdir(join(dir, 'pipelines', 'beta'), { recursive: true });
      await copyFile(stateLog(dir, 'alpha'), stateLog(dir, 'beta'));
      await expect(runGenerate(dir, 'beta', 3000)).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(stateLog(dir, 'beta')) });
      await expect(runGenerate(dir, 'beta', 3000)).rejects.toThrow(/belongs to pipeline "alpha"/);
    } finally {
      await cleanup();
    }
  });
});

describe('directory state store: checked before trusted', () => {
  // What the issue found trusted: valid JSON, wrong checkpoint. Each stops the start, naming the state.
  it.each<[string, JsonValue]>([
    ['no seq', { gen: { position: { next: 20000 } } }],
    ['a string', { gen: 'x' }],
    ['a negative position', { gen: { seq: 3, position: { next: -5 } } }],
    ['a position of another shape', { gen: { seq: 3, position: { offsets: { 't/0': 5 } } } }],
    ['a seq that is not a number', { gen: { seq: '3', position: { next: 5 } } }],
    ['not an object', [1, 2]],
  ])('a stored checkpoint with %s stops the start with STATE_CORRUPT', async (_, bad) => {
    const { dir, cleanup } = await tmpDir();
    try {
      await withStore(dir, 'p', (s) => s.set('checkpoints', bad));
      const err = await runGenerate(dir, 'p', 1000).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'STATE_CORRUPT', retriable: false });
      expect((err as Error).message).toContain(stateLog(dir, 'p'));
      expect((err as Error).message).toMatch(/restore .* from a backup/);
    } finally {
      await cleanup();
    }
  });

  it('a state.log missing beside the pipeline\'s other state (an index) stops the start with STATE_CORRUPT', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await withStore(dir, 'p', async (s) => {
        await s.set('checkpoints', { gen: { seq: 1, position: { next: 100 } } });
        await s.append('out/index', Buffer.from('{"o":1}\n'));
      });
      await rm(stateLog(dir, 'p'));
      await expect(withStore(dir, 'p', (s) => s.get('checkpoints'))).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(/missing while .*out~index\.log/) });
      expect(await readdir(join(dir, 'pipelines', 'p'))).toEqual(['out~index.log']);
    } finally {
      await cleanup();
    }
  });

  it('a state.log emptied beside the pipeline\'s other state stops the start with STATE_CORRUPT, and nothing is changed', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await withStore(dir, 'p', async (s) => {
        await s.set('checkpoints', { gen: { seq: 1, position: { next: 100 } } });
        await s.append('out/index', Buffer.from('{"o":1}\n'));
      });
      await writeFile(stateLog(dir, 'p'), '');
      await expect(withStore(dir, 'p', (s) => s.get('checkpoints'))).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(/state\.log .*empty while .*out~index\.log/) });
      expect((await stat(stateLog(dir, 'p'))).size).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('a new store writes a header record, so its state.log is never empty; an empty one alone (left by a store before the header) opens as a new state', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await withStore(dir, 'p', async () => {});
      expect((await stat(stateLog(dir, 'p'))).size).toBeGreaterThan(0);
      await writeFile(stateLog(dir, 'p'), '');
      await withStore(dir, 'p', (s) => s.set('checkpoints', { gen: { seq: 1, position: { next: 100 } } }));
      expect(await withStore(dir, 'p', (s) => s.get('checkpoints'))).toEqual({ gen: { seq: 1, position: { next: 100 } } });
    } finally {
      await cleanup();
    }
  });

  it('says whether the last run closed it cleanly: yes after a close, no after a kill or after a write of that run failed (its LOCK stays)', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(true);
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(true);
      // A log whose path is a directory cannot be appended to: a write that fails.
      await mkdir(join(dir, 'pipelines', 'p', 'op~broken.log'));
      await withStore(dir, 'p', async (s) => {
        await expect(s.append('op/broken', Buffer.from('x'))).rejects.toMatchObject({ code: 'STATE_WRITE_FAILED' });
      });
      expect(await readdir(join(dir, 'pipelines', 'p'))).toContain('LOCK');
      await rm(join(dir, 'pipelines', 'p', 'op~broken.log'), { recursive: true });
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(false);
      writeThenKill(dir, 'p', [{ gen: { seq: 1, position: { next: 100 } } }]);
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(false);
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(true);
      // A commit still open at close (a stop cut short in a commit hook), or one that failed.
      await withStore(dir, 'p', async (s) => s.commitStarted());
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(false);
      await withStore(dir, 'p', async (s) => {
        s.commitStarted();
        s.commitEnded(false);
      });
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(false);
      await withStore(dir, 'p', async (s) => {
        s.commitStarted();
        s.commitEnded(true);
      });
      expect(await withStore(dir, 'p', async (s) => s.previousRunClosedCleanly)).toBe(true);
    } finally {
      await cleanup();
    }
  });

  it('a torn last record left by a killed process is removed, and the record before it is the state', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      writeThenKill(dir, 'p', [{ gen: { seq: 1, position: { next: 100 } } }, { gen: { seq: 2, position: { next: 200 } } }]);
      const whole = (await stat(stateLog(dir, 'p'))).size;
      await appendFile(stateLog(dir, 'p'), '0badc0de {"p":"p","n":3,"k":"checkpoints","set":[["[\\"gen\\",\\"seq\\"]",3');
      expect(await withStore(dir, 'p', (s) => s.get('checkpoints'))).toEqual({ gen: { seq: 2, position: { next: 200 } } });
      expect((await stat(stateLog(dir, 'p'))).size).toBe(whole);
      // And writing goes on after the repair.
      await withStore(dir, 'p', (s) => s.set('checkpoints', { gen: { seq: 3, position: { next: 300 } } }));
      expect(await withStore(dir, 'p', (s) => s.get('checkpoints'))).toEqual({ gen: { seq: 3, position: { next: 300 } } });
    } finally {
      await cleanup();
    }
  });

  it('a cut last record of a store that was closed cleanly is damage: STATE_CORRUPT, file unchanged', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await withStore(dir, 'p', async (s) => {
        await s.set('checkpoints', { gen: { seq: 1, position: { next: 100 } } });
        await s.set('checkpoints', { gen: { seq: 2, position: { next: 200 } } });
      });
      const text = await readFile(stateLog(dir, 'p'), 'utf8');
      await writeFile(stateLog(dir, 'p'), text.slice(0, text.length - 10));
      await expect(withStore(dir, 'p', (s) => s.get('checkpoints'))).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('closed the store') });
      expect(await readFile(stateLog(dir, 'p'), 'utf8')).toBe(text.slice(0, text.length - 10));
    } finally {
      await cleanup();
    }
  });

  it.each([
    ['garbled', (lines: string[]) => lines.map((l, i) => (i === 2 ? l.replace('200', '900') : l))],
    ['removed from the middle', (lines: string[]) => lines.filter((_, i) => i !== 2)],
  ])('a record %s stops the start with STATE_CORRUPT, even after a kill', async (_, damage) => {
    const { dir, cleanup } = await tmpDir();
    try {
      writeThenKill(dir, 'p', [1, 2, 3].map((n) => ({ gen: { seq: n, position: { next: n * 100 } } })));
      const lines = (await readFile(stateLog(dir, 'p'), 'utf8')).split('\n').filter(Boolean);
      // The header record, then one per write.
      expect(lines).toHaveLength(4);
      const damaged = damage(lines).join('\n') + '\n';
      await writeFile(stateLog(dir, 'p'), damaged);
      await expect(withStore(dir, 'p', (s) => s.get('checkpoints'))).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('line 3') });
      expect(await readFile(stateLog(dir, 'p'), 'utf8')).toBe(damaged);
    } finally {
      await cleanup();
    }
  });
});

describe('directory state store: writes grow with what changed', () => {
  /** Bytes this process wrote through write(2) and friends (Linux /proc), whatever the file. */
  async function writtenBytes(): Promise<number> {
    const io = await readFile('/proc/self/io', 'utf8');
    return Number(/wchar: (\d+)/.exec(io)![1]);
  }

  it('1,000 tenants, one moving per commit: a commit writes under 1 KB, not the whole checkpoint', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const tenants: Record<string, JsonValue> = {};
      for (let i = 0; i < 1000; i++) tenants[`account-${i}`] = { sessions: 1_700_000_000_000 + i, calls: 1_700_000_000_000 + i, '@readAt': { sessions: 1_700_000_000_000 } };
      const whole = JSON.stringify({ src: { seq: 1, position: tenants } }).length;
      await withStore(dir, 'p', async (s) => {
        await s.set('checkpoints', { src: { seq: 1, position: tenants } });
        const before = await writtenBytes();
        for (let c = 0; c < 50; c++) {
          tenants[`account-${(c * 37) % 1000}`] = { sessions: 1_800_000_000_000 + c, calls: 1_800_000_000_000 + c, '@readAt': { sessions: 1_800_000_000_000 } };
          await s.set('checkpoints', { src: { seq: 2 + c, position: tenants } });
        }
        const perCommit = ((await writtenBytes()) - before) / 50;
        expect(whole).toBeGreaterThan(80_000);
        expect(perCommit).toBeLessThan(1024);
      });
      expect(await withStore(dir, 'p', (s) => s.get('checkpoints'))).toEqual({ src: { seq: 51, position: tenants } });
    } finally {
      await cleanup();
    }
  });

  it('the record log is compacted once it outgrows its live entries, and reads back the same', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const big = 'x'.repeat(20_000);
      const value = (n: number): JsonValue => ({ src: { seq: n, position: { a: `${n}${big}`, b: 'steady' } } });
      await withStore(dir, 'p', async (s) => {
        for (let n = 1; n <= 120; n++) await s.set('checkpoints', value(n));
      });
      // 120 records of ~20 KB is 2.4 MB unbounded; compacted at 1 MB.
      expect((await stat(stateLog(dir, 'p'))).size).toBeLessThan(1.1 * 1024 * 1024);
      expect(await withStore(dir, 'p', (s) => s.get('checkpoints'))).toEqual(value(120));
      expect((await readdir(join(dir, 'pipelines', 'p'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});

describe('directory state store: state written before it was kept per pipeline', () => {
  async function legacy(dir: string): Promise<void> {
    await writeFile(join(dir, 'checkpoints.json'), JSON.stringify({ gen: { seq: 3, position: { next: 1000 } } }));
    await writeFile(join(dir, 'out~index.log'), 'index\n');
  }

  it('is adopted by a pipeline that has every source it has a checkpoint for, and by no other', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await legacy(dir);
      // Other sources: not its state; it starts from the beginning and leaves the legacy files.
      expect(await runGenerate(dir, 'other', 1200, 'g2')).toBe(1200);
      expect(await readdir(dir)).toEqual(expect.arrayContaining(['checkpoints.json', 'out~index.log']));
      // The pipeline with source `gen` adopts it and resumes at 1000.
      expect(await runGenerate(dir, 'alpha', 1200)).toBe(200);
      expect((await readdir(dir)).sort()).toEqual(['pipelines']);
      expect(await readFile(join(dir, 'pipelines', 'alpha', 'out~index.log'), 'utf8')).toBe('index\n');
      // Adopted once: a later pipeline with the same source finds none to take.
      expect(await runGenerate(dir, 'beta', 1200)).toBe(1200);
    } finally {
      await cleanup();
    }
  });

  it('an adoption interrupted after its claim is finished by the same pipeline\'s next start', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await legacy(dir);
      // The claim (checkpoints.json moved into the pipeline's legacy/) happened; the rest did not.
      await mkdir(join(dir, 'pipelines', 'alpha', 'legacy'), { recursive: true });
      await rename(join(dir, 'checkpoints.json'), join(dir, 'pipelines', 'alpha', 'legacy', 'checkpoints.json'));
      expect(await runGenerate(dir, 'other', 1200)).toBe(1200); // the claim is alpha's: not another's
      expect(await runGenerate(dir, 'alpha', 1200)).toBe(200);
      expect(await readFile(join(dir, 'pipelines', 'alpha', 'out~index.log'), 'utf8')).toBe('index\n');
    } finally {
      await cleanup();
    }
  });

  it('a damaged checkpoints.json of the old layout stops the start with STATE_CORRUPT naming it', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'checkpoints.json'), '{"gen":{"seq":3,');
      await expect(runGenerate(dir, 'alpha', 1200)).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(join(dir, 'checkpoints.json')) });
      expect(await readFile(join(dir, 'checkpoints.json'), 'utf8')).toBe('{"gen":{"seq":3,');
    } finally {
      await cleanup();
    }
  });
});
