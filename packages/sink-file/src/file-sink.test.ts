import { mkdir, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createLogger, MemoryStateStore, type CallEvent, type BatchPosition, type CommitInfo, type SinkContext } from '@plumline/core';
import { ComponentTelemetry } from '@plumline/core/host';
import { fileSink, type FileSink } from './index.js';
import { ownerFile } from './output-owner.js';
import { FakeClock, tmpDir } from '@plumline/core/testing';
import { systemClock, type Clock } from '@plumline/core/util';

/** The onCommit hooks each state's sinks registered: `commit(state)` runs them, as the runtime does before writing checkpoints. */
const hooksOf = new WeakMap<MemoryStateStore, ((info: CommitInfo) => Promise<void>)[]>();
async function commit(state: MemoryStateStore, seqs: Record<string, number> = {}): Promise<void> {
  for (const h of hooksOf.get(state) ?? []) await h({ final: false, seqs });
}

function ctx(state: MemoryStateStore, committed: (p: readonly BatchPosition[]) => boolean = () => true, pipelineId = 'test', logs?: string[], clock: Clock = systemClock): SinkContext {
  const hooks = hooksOf.get(state) ?? [];
  hooksOf.set(state, hooks);
  const telemetry = new ComponentTelemetry('files', 'file', 'sink');
  const scoped = {
    get: (k: string) => state.get(`files/${k}`),
    set: (k: string, v: never) => state.set(`files/${k}`, v),
    append: (k: string, d: Uint8Array) => state.append(`files/${k}`, d),
    readLog: (k: string) => state.readLog(`files/${k}`),
    rewriteLog: (k: string, d: Uint8Array) => state.rewriteLog(`files/${k}`, d),
  };
  return {
    id: 'files',
    type: 'file',
    clock,
    logger: logs ? createLogger({ level: 'warn', destination: new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) }) }) : createLogger({ level: 'silent' }),
    meter: telemetry.meter,
    tracer: telemetry.tracer,
    telemetry,
    signal: new AbortController().signal,
    state: scoped,
    once: false,
    baseDir: process.cwd(),
    isCommitted: committed,
    committedPosition: () => undefined,
    pipelineId,
    reportError: () => {},
    onCommit: (hook) => void hooks.push(hook),
    atomicState: undefined,
  };
}

const ev = (i: number, kind = 'session', time = '2026-03-04T05:06:07.000Z'): CallEvent => ({ id: `e${i}`, source: 'src', kind, time, attributes: { i } });

async function make(config: Record<string, unknown>, state: MemoryStateStore, committed?: (p: readonly BatchPosition[]) => boolean, pipelineId?: string, logs?: string[], clock?: Clock): Promise<FileSink> {
  return (await fileSink.create(fileSink.configSchema.parse(config), ctx(state, committed, pipelineId, logs, clock))) as FileSink;
}

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CallEvent);

describe('file sink', () => {
  it('renders paths from event fields and time, and writes whole NDJSON lines', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, '{{source}}/{{kind}}/%Y-%m-%d.ndjson') }, new MemoryStateStore());
      await sink.write({ events: [ev(1), ev(2, 'call'), ev(3, 'session', '2026-03-05T00:00:00Z')], positions: [{ source: 'src', seq: 1 }] });
      await sink.close();
      expect(lines(await readFile(join(dir, 'src/session/2026-03-04.ndjson'), 'utf8')).map((e) => e.id)).toEqual(['e1']);
      expect(lines(await readFile(join(dir, 'src/call/2026-03-04.ndjson'), 'utf8')).map((e) => e.id)).toEqual(['e2']);
      expect(lines(await readFile(join(dir, 'src/session/2026-03-05.ndjson'), 'utf8')).map((e) => e.id)).toEqual(['e3']);
    } finally {
      await cleanup();
    }
  });

  it('keeps field values from escaping the template directory', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, 'out/{{kind}}.ndjson') }, new MemoryStateStore());
      await sink.write({ events: [ev(1, '../../etc')], positions: [{ source: 'src', seq: 1 }] });
      await sink.close();
      expect(await readdir(join(dir, 'out'))).toEqual(['.._.._etc.ndjson', '.plumline-owner']);
    } finally {
      await cleanup();
    }
  });

  it('rotates by size into numbered parts without losing or reordering events', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, 'a.ndjson'), rotate: { max_bytes: '1KB' } }, new MemoryStateStore());
      for (let b = 0; b < 10; b++) await sink.write({ events: Array.from({ length: 5 }, (_, i) => ev(b * 5 + i)), positions: [{ source: 'src', seq: b + 1 }] });
      await sink.close();
      // The owner file (.a.ndjson.plumline-owner) is not output.
      const files = (await readdir(dir)).filter((f) => !f.startsWith('.')).sort((x, y) => (Number(x.split('.')[1]) || 0) - (Number(y.split('.')[1]) || 0));
      expect(files.length).toBeGreaterThan(2);
      const all: string[] = [];
      for (const f of files) {
        expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(1000);
        all.push(...lines(await readFile(join(dir, f), 'utf8')).map((e) => e.id));
      }
      expect(all).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
    } finally {
      await cleanup();
    }
  });

  it('writes gzip members that decompress to the whole stream', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, 'a.ndjson'), gzip: true }, new MemoryStateStore());
      await sink.write({ events: [ev(1), ev(2)], positions: [{ source: 'src', seq: 1 }] });
      await sink.write({ events: [ev(3)], positions: [{ source: 'src', seq: 2 }] });
      await sink.close();
      expect(lines(gunzipSync(await readFile(join(dir, 'a.ndjson.gz'))).toString()).map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    } finally {
      await cleanup();
    }
  });

  it('after a crash keeps exactly the writes the committed checkpoint covers, and bytes that were there before', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const file = join(dir, 'a.ndjson');
      await writeFile(file, '{"id":"before"}\n');
      const state = new MemoryStateStore();
      const sink = await make({ path: file }, state);
      for (let b = 1; b <= 4; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      // A torn tail: half a line written after the last indexed write, then the process died.
      await writeFile(file, '{"id":"torn', { flag: 'a' });
      // Restart: the checkpoint committed before the crash covered batches 1 and 2.
      const logs: string[] = [];
      const sizeAtCrash = (await stat(file)).size;
      const again = await make({ path: file }, state, (ps) => ps.every((p) => p.seq <= 2), undefined, logs);
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['before', 'e1', 'e2']);
      // What was cut is said at warn level, with the file: bytes another writer appended would go the same way.
      const told = logs.map((l) => JSON.parse(l) as { level: number; msg: string; files: { file: string; bytes: number }[] });
      expect(told).toMatchObject([{ level: 40, files: [{ file, bytes: sizeAtCrash - (await stat(file)).size }] }]);
      expect(told[0]!.msg).toContain('a file sink\'s files must be its own');
      await again.write({ events: [ev(3)], positions: [{ source: 'src', seq: 3 }] });
      await again.close();
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['before', 'e1', 'e2', 'e3']);
    } finally {
      await cleanup();
    }
  });

  it('groups concurrent writes into one commit and acknowledges each', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const sink = await make({ path: join(dir, 'a.ndjson') }, state);
      await Promise.all(Array.from({ length: 20 }, (_, b) => sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b + 1 }] })));
      await sink.close();
      expect(lines(await readFile(join(dir, 'a.ndjson'), 'utf8'))).toHaveLength(20);
      // Fewer index appends than writes: group commit.
      expect(state.logs.get('files/index.test')!.length).toBeLessThan(20);
    } finally {
      await cleanup();
    }
  });

  it('dead-letters an event JSON cannot represent, with its id and reason, and writes the rest of the batch', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      for (const path of ['a.ndjson', '{{kind}}.ndjson']) {
        const sink = await make({ path: join(dir, path) }, new MemoryStateStore());
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad = [{ ...ev(2), attributes: { big: 10n } }, { ...ev(3), attributes: { cyclic } }] as unknown as CallEvent[];
        const result = await sink.write({ events: [ev(1), ...bad, ev(4)], positions: [{ source: 'src', seq: 1 }] });
        await sink.close();
        expect(result?.dead?.map((d) => [d.code, (d.record as CallEvent).id])).toEqual([
          ['FILE_ENCODING_FAILED', 'e2'],
          ['FILE_ENCODING_FAILED', 'e3'],
        ]);
        // The dead letter itself must be writable as JSON.
        expect(() => JSON.stringify(result?.dead)).not.toThrow();
        const file = path === 'a.ndjson' ? 'a.ndjson' : 'session.ndjson';
        expect(lines(await readFile(join(dir, file), 'utf8')).map((e) => e.id)).toEqual(['e1', 'e4']);
      }
    } finally {
      await cleanup();
    }
  });

  it('dead-letters events whose path cannot be a file (a 300-byte name, a time that is an array, a directory in the way) and writes the rest, then goes on', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await mkdir(join(dir, 'call-x.ndjson'));
      const sink = await make({ path: join(dir, '{{kind}}-{{attributes.name}}.ndjson') }, new MemoryStateStore());
      const long = { ...ev(2), attributes: { name: 'n'.repeat(300) } };
      const arrayTime = { ...ev(3), time: ['2026'] } as unknown as CallEvent;
      const timed = await make({ path: join(dir, 'by-time/%Y/{{kind}}.ndjson') }, new MemoryStateStore());
      const r1 = await timed.write({ events: [ev(1), arrayTime], positions: [{ source: 'src', seq: 1 }] });
      expect(r1?.dead?.map((d) => [d.code, (d.record as CallEvent).id])).toEqual([['FILE_PATH_INVALID', 'e3']]);
      const blocked = { ...ev(4, 'call'), attributes: { name: 'x' } };
      const r2 = await sink.write({ events: [{ ...ev(1), attributes: { name: 'ok' } }, long, blocked], positions: [{ source: 'src', seq: 1 }] });
      expect(r2?.dead?.map((d) => [d.code, (d.record as CallEvent).id]).sort()).toEqual([
        ['FILE_PATH_INVALID', 'e2'],
        ['FILE_PATH_UNWRITABLE', 'e4'],
      ]);
      // The next normal event is written: nothing is stuck behind the bad ones.
      await sink.write({ events: [{ ...ev(5), attributes: { name: 'ok' } }], positions: [{ source: 'src', seq: 2 }] });
      await sink.close();
      await timed.close();
      expect(lines(await readFile(join(dir, 'session-ok.ndjson'), 'utf8')).map((e) => e.id)).toEqual(['e1', 'e5']);
      expect(lines(await readFile(join(dir, 'by-time/2026/session.ndjson'), 'utf8')).map((e) => e.id)).toEqual(['e1']);
    } finally {
      await cleanup();
    }
  });

  it('refuses a path that names a directory: at validate time when it ends in a slash, at start when it is one', async () => {
    expect(fileSink.configSchema.safeParse({ path: '/tmp/' }).success).toBe(false);
    const { dir, cleanup } = await tmpDir();
    try {
      await expect(make({ path: dir }, new MemoryStateStore())).rejects.toMatchObject({ code: 'CONFIG_FILE_PATH_IS_DIRECTORY' });
    } finally {
      await cleanup();
    }
  });

  it('validate refuses a path under a file (fixed or templated), located, and passes one whose directories do not exist yet', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'out'), 'not a directory\n');
      const check = (path: string) => fileSink.preflight!(fileSink.configSchema.parse({ path }), { env: {}, baseDir: dir });
      for (const path of [join(dir, 'out/x.ndjson'), join(dir, 'out/y/{{source}}.ndjson')]) {
        expect(await check(path)).toEqual([{ code: 'CONFIG_FILE_PATH_UNDER_FILE', path: ['path'], message: expect.stringContaining(`${join(dir, 'out')} is a file`) }]);
      }
      expect(await check(join(dir, 'new/a/{{source}}.ndjson'))).toEqual([]);
      expect(await check(join(dir, 'new/b/x.ndjson'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('forgets files idle and committed, and a path that renders again resumes its last part, still exact after a crash', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const config = { path: join(dir, '{{kind}}.ndjson'), rotate: { max_bytes: '1KB' }, idle_timeout: '100ms' };
      const write = (sink: FileSink, seq: number, kind: string) => sink.write({ events: Array.from({ length: 5 }, (_, i) => ev(seq * 5 + i, kind)), positions: [{ source: 'src', seq }] });
      const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const sink = await make(config, state, (ps) => ps.every((p) => p.seq <= 10), undefined, undefined, clock);
      for (let seq = 1; seq <= 8; seq++) await write(sink, seq, 'a');
      const parts = (await readdir(dir)).length;
      expect(parts).toBeGreaterThan(2);
      await write(sink, 9, 'b');
      const indexText = async () => Buffer.from(await state.readLog('files/index.test')).toString('utf8');
      expect(await indexText()).toContain('a.');
      // Idle for longer than idle_timeout on the clock: the sink's sweep timer (no write needed) forgets `a`.
      await clock.advance(400);
      await expect.poll(indexText).not.toContain('a.');
      await write(sink, 10, 'b');
      const index = await indexText();
      expect(index).not.toContain('a.');
      expect(index).toContain('b.ndjson');
      // `a` renders again: writing goes on at the end of its last part, not back at part 0.
      await write(sink, 11, 'a');
      await write(sink, 12, 'a');
      const part = (f: string) => Number(/^a\.(\d+)\./.exec(f)?.[1] ?? 0);
      const idsOfA = async (): Promise<string[]> => {
        const ids: string[] = [];
        for (const f of (await readdir(dir)).filter((f) => f.startsWith('a')).sort((x, y) => part(x) - part(y))) ids.push(...lines(await readFile(join(dir, f), 'utf8')).map((e) => e.id));
        return ids;
      };
      const inOrder = (batches: number[]) => batches.flatMap((seq) => Array.from({ length: 5 }, (_, i) => `e${seq * 5 + i}`));
      expect(await idsOfA()).toEqual(inOrder([1, 2, 3, 4, 5, 6, 7, 8, 11, 12]));
      // A crash: only batches up to 10 were committed. The resumed part loses exactly 11 and 12.
      await sink.close();
      const again = await make(config, state, (ps) => ps.every((p) => p.seq <= 10));
      await again.close();
      expect(await idsOfA()).toEqual(inOrder([1, 2, 3, 4, 5, 6, 7, 8]));
    } finally {
      await cleanup();
    }
  });
});

describe('file sink commit index: damage is refused, never repaired by removing output', () => {
  const INDEX = 'files/index.test';
  const text = async (state: MemoryStateStore, key = INDEX) => Buffer.from(await state.readLog(key)).toString('utf8');
  const upTo = (n: number) => (ps: readonly BatchPosition[]) => ps.every((p) => p.seq <= n);

  /** Four batches written and committed (the runtime's commit hooks ran), the sink stopped. */
  async function written(dir: string): Promise<{ state: MemoryStateStore; file: string; before: string }> {
    const state = new MemoryStateStore();
    const file = join(dir, 'a.ndjson');
    const sink = await make({ path: file }, state, upTo(0));
    for (let b = 1; b <= 4; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
    await commit(state, { src: 4 });
    await sink.close();
    return { state, file, before: await readFile(file, 'utf8') };
  }

  async function refused(dir: string, damage: (state: MemoryStateStore, file: string) => Promise<void>, message: RegExp, pipelineId?: string): Promise<void> {
    const { state, file, before } = await written(dir);
    await damage(state, file);
    await expect(make({ path: file }, state, upTo(4), pipelineId)).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(message) as unknown });
    expect(await readFile(file, 'utf8')).toBe(before);
  }

  it('a last record torn after it was committed is restored from the index head: nothing removed, nothing written again', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const { state, file, before } = await written(dir);
      const t = await text(state);
      await state.rewriteLog(INDEX, Buffer.from(t.slice(0, t.length - 20)));
      const again = await make({ path: file }, state, upTo(4));
      await again.close();
      expect(await readFile(file, 'utf8')).toBe(before);
      expect(lines(before).map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4']);
    } finally {
      await cleanup();
    }
  });

  it('a last record removed: STATE_CORRUPT naming the index', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await refused(dir, async (state) => {
        const t = await text(state);
        await state.rewriteLog(INDEX, Buffer.from(t.slice(0, t.lastIndexOf('\n', t.length - 2) + 1)));
      }, /files~index\.test\.log .*records were removed/);
    } finally {
      await cleanup();
    }
  });

  it('a record garbled in the middle: STATE_CORRUPT, even with no head to compare with', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await refused(dir, async (state) => {
        const ls = (await text(state)).split('\n');
        ls[2] = ls[2]!.replace('"b":[["', '"b":[["x');
        await state.rewriteLog(INDEX, Buffer.from(ls.join('\n')));
        state.values.delete('files/index.test.head');
      }, /damaged at line 3: checksum mismatch/);
    } finally {
      await cleanup();
    }
  });

  it('the index deleted while its head remains: STATE_CORRUPT', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await refused(dir, async (state) => void state.logs.delete(INDEX), /is missing or empty/);
    } finally {
      await cleanup();
    }
  });

  it('the index and its head both deleted while the output its owner file says this sink wrote remains: STATE_CORRUPT; without the owner file it appends', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await refused(
        dir,
        async (state) => {
          state.logs.delete(INDEX);
          state.values.delete('files/index.test.head');
        },
        /has no commit index, but .*plumline-owner says this sink wrote it/,
      );
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const before = await readFile(file, 'utf8');
      await rm(ownerFile(file));
      const fresh = await make({ path: file }, state, upTo(0));
      await fresh.write({ events: [ev(9)], positions: [{ source: 'src', seq: 1 }] });
      await fresh.close();
      expect(await readFile(file, 'utf8')).toBe(before + JSON.stringify(ev(9)) + '\n');
    } finally {
      await cleanup();
    }
  });

  it("another pipeline's index: STATE_CORRUPT naming whose it is", async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await refused(
        dir,
        async (state, file) => {
          // The output's owner file says it is pipeline test's: take it away, as a copy to another directory would.
          await rm(ownerFile(file));
          await state.rewriteLog('files/index.other', await state.readLog(INDEX));
          await state.set('files/index.other.head', (await state.get('files/index.test.head'))!);
        },
        /belongs to sink "files" of pipeline "test"/,
        'other',
      );
    } finally {
      await cleanup();
    }
  });

  it('an index older than the checkpoints (no head: a backup copied it first) and bytes past it: STATE_CORRUPT, the bytes kept', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const sink = await make({ path: file }, state, upTo(0));
      for (let b = 1; b <= 2; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      const older = await state.readLog(INDEX);
      for (let b = 3; b <= 4; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      await sink.close();
      const before = await readFile(file, 'utf8');
      await state.rewriteLog(INDEX, older);
      // No head: the close stores one now (naming the index it rewrote), which would be refused on its own.
      state.values.delete(`${INDEX}.head`);
      await expect(make({ path: file }, state, upTo(4))).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(/reaches past batch 2/) as unknown });
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await cleanup();
    }
  });

  it('a crash during a write of a sink that saw none of the last committed batches (filtered out) is repaired, not refused', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const sink = await make({ path: file }, state, upTo(0));
      for (let b = 1; b <= 2; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      // Batches 3 and 4 held nothing for this sink: it never saw them; the commit covers them.
      await commit(state, { src: 4 });
      // Batch 5 reached the file, then the process died before its index append.
      await writeFile(file, JSON.stringify(ev(5)) + '\n', { flag: 'a' });
      const again = await make({ path: file }, state, upTo(4));
      await again.close();
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['e1', 'e2']);
    } finally {
      await cleanup();
    }
  });

  it('checkpoints a final commit took past the head (operators releasing holds) are noted at the next start: a crash then is still repaired', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const sink = await make({ path: file }, state, upTo(0));
      for (let b = 1; b <= 2; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      // The final commit: its hooks saw seq 2, the checkpoints taken again after them cover 4.
      await commit(state, { src: 2 });
      await sink.close();
      const next = await make({ path: file }, state, upTo(4));
      // The next run dies in its first write, before any commit of its own.
      await writeFile(file, JSON.stringify(ev(5)) + '\n', { flag: 'a' });
      await next.close();
      const again = await make({ path: file }, state, upTo(4));
      await again.close();
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['e1', 'e2']);
    } finally {
      await cleanup();
    }
  });

  it('checkpoints committed between the runtime commits (by an exactly-once sink) past the head but not past the index: a crash is still repaired', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const sink = await make({ path: file }, state, upTo(0));
      for (let b = 1; b <= 2; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      await commit(state, { src: 2 });
      for (let b = 3; b <= 4; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      // The checkpoints reached 4 with another sink's atomic commit; batch 5 was cut short by a kill.
      await writeFile(file, JSON.stringify(ev(5)) + '\n', { flag: 'a' });
      await sink.close();
      const again = await make({ path: file }, state, upTo(4));
      await again.close();
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4']);
    } finally {
      await cleanup();
    }
  });

  it('an index and its head older than the checkpoints (a backup copied them first) with bytes past them: STATE_CORRUPT, the bytes kept', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const sink = await make({ path: file }, state, upTo(0));
      for (let b = 1; b <= 2; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      await commit(state, { src: 2 });
      const older = { log: await state.readLog(INDEX), head: (await state.get('files/index.test.head'))! };
      for (let b = 3; b <= 4; b++) await sink.write({ events: [ev(b)], positions: [{ source: 'src', seq: b }] });
      await commit(state, { src: 4 });
      await sink.close();
      const before = await readFile(file, 'utf8');
      await state.rewriteLog(INDEX, older.log);
      await state.set('files/index.test.head', older.head);
      await expect(make({ path: file }, state, upTo(4))).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(/older than the checkpoints/) as unknown });
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await cleanup();
    }
  });

  it('an index under the name before version 2 is taken over by the pipeline whose checkpoints cover it, and moved under its name', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const file = join(dir, 'a.ndjson');
      const ids = ['e1', 'e2', 'e3'];
      // Written before version 2: no owner file next to it.
      await writeFile(file, ids.map((id) => JSON.stringify({ id }) + '\n').join(''));
      const len = (n: number) => ids.slice(0, n).reduce((t, id) => t + JSON.stringify({ id }).length + 1, 0);
      // The old format: no header, ordinals or checksums; batch 3 was not committed.
      const old = [{ o: [file, 0, file, 0] }, ...[1, 2, 3].map((seq) => ({ b: [[file, len(seq - 1), len(seq)]], p: [['src', seq]] }))];
      await state.rewriteLog('files/index', Buffer.from(old.map((r) => JSON.stringify(r) + '\n').join('')));
      const sink = await make({ path: file }, state, upTo(2));
      await sink.close();
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['e1', 'e2']);
      expect(await text(state, 'files/index')).toBe('');
      expect(await text(state)).toContain(`"o":["${file}",${len(2)}`);
      // Another pipeline in the same state, whose checkpoints cover none of it, may not take it.
      await state.rewriteLog('files/index', Buffer.from(old.map((r) => JSON.stringify(r) + '\n').join('')));
      await rm(ownerFile(file));
      await expect(make({ path: file }, state, upTo(0), 'beta')).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringMatching(/another pipeline wrote it/) as unknown });
      expect(lines(await readFile(file, 'utf8')).map((e) => e.id)).toEqual(['e1', 'e2']);
      // Nor one whose sink writes elsewhere: it is left alone.
      const elsewhere = await make({ path: join(dir, 'b.ndjson') }, state, upTo(0), 'gamma');
      await elsewhere.close();
      expect(await text(state, 'files/index')).not.toBe('');
    } finally {
      await cleanup();
    }
  });
});

describe('file sink state belongs to its pipeline', () => {
  it("keeps its commit index under its pipeline's name: a second pipeline in the same state neither reads nor changes the first one's files", async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const a = join(dir, 'a.ndjson');
      const alpha = await make({ path: a }, state, () => false, 'alpha');
      for (let b = 1; b <= 3; b++) await alpha.write({ events: [ev(b)], positions: [{ source: 'gen', seq: b }] });
      await alpha.close();
      const before = await readFile(a, 'utf8');
      // beta: a sink of the same id in the same state, its own checkpoints (none committed yet).
      const beta = await make({ path: join(dir, 'b.ndjson') }, state, () => false, 'beta');
      await beta.write({ events: [ev(9)], positions: [{ source: 'gen', seq: 1 }] });
      await beta.close();
      expect(await readFile(a, 'utf8')).toBe(before);
      expect([...state.logs.keys()].filter((k) => k.startsWith('files/index')).sort()).toEqual(['files/index.alpha', 'files/index.beta']);
    } finally {
      await cleanup();
    }
  });

  it('refuses a second sink on a file another sink writes (another pipeline, or another sink of the same), with the owner and what to do', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const file = join(dir, 'shared.ndjson');
      const alphaState = new MemoryStateStore();
      const alpha = await make({ path: file }, alphaState, undefined, 'alpha');
      await alpha.write({ events: [ev(1)], positions: [{ source: 'gen', seq: 1 }] });
      const before = await readFile(file, 'utf8');
      // Running at the same time.
      await expect(make({ path: file }, new MemoryStateStore(), undefined, 'beta')).rejects.toMatchObject({ code: 'FILE_PATH_IN_USE', message: expect.stringMatching(/sink "files" of pipeline "alpha" writes it, running in this process/) as unknown });
      await alpha.close();
      // One after the other: alpha's next recovery would cut what beta appended.
      await expect(make({ path: file }, new MemoryStateStore(), undefined, 'beta')).rejects.toMatchObject({ code: 'FILE_PATH_IN_USE', message: expect.stringMatching(/give this sink its own path/) as unknown });
      expect(await readFile(file, 'utf8')).toBe(before);
      // The owner itself starts again (with its state).
      const again = await make({ path: file }, alphaState, undefined, 'alpha');
      await again.close();
    } finally {
      await cleanup();
    }
  });

  it('stops a templated sink before it writes a file another pipeline claimed after this sink started; nothing is written there', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, 'out/{{kind}}/x.ndjson') }, new MemoryStateStore(), undefined, 'alpha');
      await sink.write({ events: [ev(1)], positions: [{ source: 'gen', seq: 1 }] });
      // A claim made while alpha runs (a start racing alpha's): beta's fixed path out/call/x.ndjson.
      await mkdir(join(dir, 'out/call'));
      await writeFile(ownerFile(join(dir, 'out/call/x.ndjson')), JSON.stringify({ pipeline: 'beta', sink: 'files', pid: 0 }));
      await expect(sink.write({ events: [ev(2, 'call')], positions: [{ source: 'gen', seq: 2 }] })).rejects.toMatchObject({ code: 'FILE_PATH_IN_USE', message: expect.stringMatching(/sink "files" of pipeline "beta" writes .*out\/call\/x\.ndjson/) as unknown });
      await sink.close();
      await expect(stat(join(dir, 'out/call/x.ndjson'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await cleanup();
    }
  });

  it("never cuts a file its index lists once another pipeline claims it: the start is refused and nothing is cut", async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const state = new MemoryStateStore();
      const upTo1 = (p: readonly BatchPosition[]) => p.every((x) => x.seq <= 1);
      const alpha = await make({ path: join(dir, 'a/{{kind}}.ndjson') }, state, upTo1, 'alpha');
      await alpha.write({ events: [ev(1)], positions: [{ source: 'gen', seq: 1 }] });
      await alpha.write({ events: [ev(2)], positions: [{ source: 'gen', seq: 2 }] });
      await alpha.close();
      const file = join(dir, 'a/session.ndjson');
      const before = await readFile(file, 'utf8');
      // alpha's template moved to b/, and beta took a/ over (its owner file deleted by hand, then claimed).
      await writeFile(join(dir, 'a/.plumline-owner'), JSON.stringify({ pipeline: 'beta', sinks: { files: 'a/{{kind}}.ndjson' }, pid: 0 }));
      await expect(make({ path: join(dir, 'b/{{kind}}.ndjson') }, state, upTo1, 'alpha')).rejects.toMatchObject({ code: 'FILE_PATH_IN_USE', message: expect.stringMatching(/pipeline "beta" claims .*nothing was cut/) as unknown });
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await cleanup();
    }
  });

  it("lets sinks of one pipeline share a template's directory (two templates, a fixed path inside), and a second process of it not", async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // One state each: the test's sinks all have the id "files", and their indexes would be one.
      const s = await make({ path: join(dir, 'out/{{source}}/a.ndjson') }, new MemoryStateStore(), undefined, 'alpha');
      const k = await make({ path: join(dir, 'out/{{kind}}/b.ndjson') }, new MemoryStateStore(), undefined, 'alpha');
      const f = await make({ path: join(dir, 'out/errors.ndjson') }, new MemoryStateStore(), undefined, 'alpha');
      await Promise.all([s, k, f].map((sink) => sink.write({ events: [ev(1)], positions: [{ source: 'gen', seq: 1 }] })));
      const claim = () => readFile(join(dir, 'out/.plumline-owner'), 'utf8').then((t) => JSON.parse(t) as { pipeline: string; sinks: Record<string, string>; pid: number });
      // A process of alpha that is not this one, still running: the parent of the test's process.
      await writeFile(join(dir, 'out/.plumline-owner'), JSON.stringify({ ...(await claim()), pid: process.ppid }));
      await expect(make({ path: join(dir, 'out/{{kind}}/c.ndjson') }, new MemoryStateStore(), undefined, 'alpha')).rejects.toMatchObject({ code: 'FILE_PATH_IN_USE', message: expect.stringMatching(/another process of pipeline "alpha"/) as unknown });
      await writeFile(join(dir, 'out/.plumline-owner'), JSON.stringify({ ...(await claim()), pid: process.pid }));
      await s.close();
      expect((await claim()).pid).toBe(process.pid);
      await k.close();
      await f.close();
      // The sinks map holds the last template of each sink id ("files" here).
      expect(await claim()).toEqual({ pipeline: 'alpha', sinks: { files: join(dir, 'out/{{kind}}/b.ndjson') }, pid: 0 });
    } finally {
      await cleanup();
    }
  });

  it('finds two sinks of one pipeline on one path at validate time, located at the second', () => {
    const parse = (path: string) => fileSink.configSchema.parse({ path });
    const problems = fileSink.conflicts!([
      { id: 'a', config: parse('out/x.ndjson') },
      { id: 'b', config: parse('out/y.ndjson') },
      { id: 'c', config: parse('./out/x.ndjson') },
    ]);
    expect(problems).toEqual([{ id: 'c', code: 'CONFIG_FILE_PATH_SHARED', path: ['path'], message: expect.stringMatching(/sink "a" writes .*x\.ndjson too/) as unknown }]);
  });
});
