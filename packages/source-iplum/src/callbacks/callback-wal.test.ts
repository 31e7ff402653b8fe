import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, DirectoryStateStore, type ComponentState } from '@plumline/core';
import { tmpDir } from '@plumline/core/testing';
import { CallbackWal, type WalEntry } from './callback-wal.js';

const logger = createLogger({ level: 'silent' });
const body = (i: number) => ({ recordId: `rec-${i}`, usage: 'text', content: `callback ${i} `.repeat(3) });

/** The receiver's slice (component `cb`) of a directory store of pipeline `p` at `dir`, as the runtime scopes it. */
function scoped(store: DirectoryStateStore): ComponentState {
  const k = (key: string) => `cb/${key}`;
  return {
    get previousRunClosedCleanly() {
      return store.previousRunClosedCleanly;
    },
    get: (key) => store.get(k(key)),
    set: (key, value) => store.set(k(key), value),
    append: (key, data) => store.append(k(key), data),
    readLog: (key) => store.readLog(k(key)),
    rewriteLog: (key, data) => store.rewriteLog(k(key), data),
  };
}

/** Opens the write-ahead log of a store at `dir` (committed up to `committed`), runs `fn`, closes the store. */
async function withWal<T>(dir: string, committed: number, fn: (wal: CallbackWal, replay: WalEntry[]) => Promise<T>): Promise<T> {
  const store = new DirectoryStateStore(dir, { pipelineId: 'p', logger });
  await store.open();
  try {
    const wal = new CallbackWal(scoped(store), 'cb', logger);
    const replay = await wal.open(committed);
    const out = await fn(wal, replay);
    await wal.flush();
    return out;
  } finally {
    await store.close();
  }
}

const walFile = (dir: string) => join(dir, 'pipelines', 'p', 'cb~wal.log');

/** A log of callbacks 1..n, none committed. */
async function logOf(n: number): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await tmpDir('plumline-wal-');
  await withWal(t.dir, 0, async (wal) => {
    for (let i = 1; i <= n; i++) await wal.append(body(i));
  });
  return t;
}

/** `text` in the file replaced by as many bytes of garbage (the line or block holding it no longer reads). */
async function garble(file: string, text: string): Promise<void> {
  const data = await readFile(file);
  const at = data.indexOf(text);
  expect(at, `${text} is in ${file}`).toBeGreaterThan(0);
  data.fill(0x23, at, at + text.length);
  await writeFile(file, data);
}

describe('iplum_callbacks write-ahead log (a real directory store)', () => {
  it('replays what the committed checkpoint does not cover, after a restart, in order', async () => {
    const { dir, cleanup } = await logOf(5);
    try {
      const replay = await withWal(dir, 2, async (_wal, r) => r);
      expect(replay.map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(replay.map((e) => e.body)).toEqual([body(3), body(4), body(5)]);
    } finally {
      await cleanup();
    }
  });

  it('a garbled entry in the middle stops the start with STATE_CORRUPT naming the file; nothing after it is dropped, the file is left as it is', async () => {
    const { dir, cleanup } = await logOf(5);
    try {
      await garble(walFile(dir), '{"recordId":"rec-3"');
      const before = await readFile(walFile(dir));
      const err = await withWal(dir, 0, async () => undefined).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(err?.code).toBe('STATE_CORRUPT');
      expect(err?.message).toContain('cb~wal.log');
      expect(await readFile(walFile(dir))).toEqual(before);
    } finally {
      await cleanup();
    }
  });

  it('a torn last entry (an append cut short by a kill) is dropped; the entries before it are replayed and new ones follow', async () => {
    const { dir, cleanup } = await logOf(5);
    try {
      const size = (await readFile(walFile(dir))).length;
      await truncate(walFile(dir), size - 7);
      const replay = await withWal(dir, 0, async (wal, r) => {
        expect(await wal.append(body(6))).toBe(5);
        return r;
      });
      expect(replay.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      const again = await withWal(dir, 0, async (_wal, r) => r);
      expect(again.map((e) => e.body)).toEqual([body(1), body(2), body(3), body(4), body(6)]);
    } finally {
      await cleanup();
    }
  });

  it('a log shorter than when it was last rewritten (entries cut off its end) is STATE_CORRUPT, not a shorter replay', async () => {
    const { dir, cleanup } = await logOf(4);
    try {
      // The restart rewrites the log (only what still needs delivering): that size is on record.
      await withWal(dir, 0, async () => undefined);
      const data = await readFile(walFile(dir));
      const cut = data.indexOf('{"recordId":"rec-3"');
      await truncate(walFile(dir), cut - 40);
      await expect(withWal(dir, 0, async () => undefined)).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('cb~wal.log') });
    } finally {
      await cleanup();
    }
  });

  describe('a log written before it was checksummed (one JSON per line)', () => {
    const legacy = (lines: string[]) => lines.join('\n') + '\n';
    const line = (s: number) => JSON.stringify({ s, b: body(s) });
    async function legacyLog(text: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
      const t = await tmpDir('plumline-wal-legacy-');
      // The store made (its state.log), then the log as the version before wrote it (no head in state.log).
      const store = new DirectoryStateStore(t.dir, { pipelineId: 'p', logger });
      await store.open();
      await store.close();
      await writeFile(walFile(t.dir), text);
      return t;
    }

    it('is read once and rewritten checksummed: its entries are replayed', async () => {
      const { dir, cleanup } = await legacyLog(legacy([line(1), line(2), line(3)]));
      try {
        expect((await withWal(dir, 1, async (_w, r) => r)).map((e) => e.seq)).toEqual([2, 3]);
        expect((await readFile(walFile(dir))).includes(Buffer.from(line(2)))).toBe(true);
        expect((await readFile(walFile(dir), 'utf8')).startsWith('{')).toBe(false);
        expect((await withWal(dir, 1, async (_w, r) => r)).map((e) => e.seq)).toEqual([2, 3]);
      } finally {
        await cleanup();
      }
    });

    it('an unparsable line in the middle is STATE_CORRUPT naming the file (the lines after it are not dropped)', async () => {
      const { dir, cleanup } = await legacyLog(legacy([line(1), '{"s":2,"b":{"recordId":"re', line(3)]));
      try {
        await expect(withWal(dir, 0, async () => undefined)).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('cb~wal.log') });
      } finally {
        await cleanup();
      }
    });

    it('only a torn last line is dropped', async () => {
      const { dir, cleanup } = await legacyLog(legacy([line(1), line(2)]) + line(3).slice(0, 20));
      try {
        expect((await withWal(dir, 0, async (_w, r) => r)).map((e) => e.seq)).toEqual([1, 2]);
      } finally {
        await cleanup();
      }
    });
  });
});
