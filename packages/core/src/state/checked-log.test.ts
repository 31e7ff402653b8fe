import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { encodeKeyBlocks } from '../operators/dedupe/key-log.js';
import { tmpDir } from '../testing/tmp-dir.js';
import { CheckedLog, decodeFrames, encodeFrames } from './checked-log.js';
import { DirectoryStateStore } from './directory-state-store.js';
import { scopeState } from './state-store.js';

const logger = createLogger({ level: 'silent' });
const payload = (i: number) => Buffer.from(`block ${i} `.repeat(i + 1));

describe('checked log frames', () => {
  it('decode what they encode, and tell a torn last frame from a garbled one with frames after it', () => {
    const data = encodeFrames([payload(1), payload(2), payload(3)], 4);
    const whole = decodeFrames(data);
    expect(whole).toEqual({ generation: 4, payloads: [payload(1), payload(2), payload(3)], goodBytes: data.length });

    const torn = decodeFrames(data.subarray(0, data.length - 5));
    expect(torn.payloads).toEqual([payload(1), payload(2)]);
    expect(torn.problem).toMatchObject({ last: true });

    const garbled = Buffer.from(data);
    garbled[12 + 7 + 12 + 2]! ^= 1; // a byte of the first block's payload
    const g = decodeFrames(garbled);
    expect(g.payloads).toEqual([]);
    expect(g.problem).toMatchObject({ last: false, reason: expect.stringContaining('checksum') });
  });
});

/** A CheckedLog over a directory store at `dir` (pipeline p, component op); `fn` runs with it, then the store is closed. */
async function withLog<T>(dir: string, fn: (log: CheckedLog) => Promise<T>, atomic = false): Promise<T> {
  const store = new DirectoryStateStore(dir, { pipelineId: 'p', logger });
  await store.open();
  try {
    return await fn(new CheckedLog(scopeState(store, 'op'), 'keys', 'op', logger, atomic));
  } finally {
    await store.close();
  }
}

describe('CheckedLog in the directory store', () => {
  it('loads what was appended; a torn block past the committed head is dropped; the log is checked again after', async () => {
    const { dir, cleanup } = await tmpDir('plumline-checked-');
    try {
      const file = join(dir, 'pipelines', 'p', 'op~keys.log');
      await withLog(dir, async (log) => {
        expect(await log.load()).toEqual({ format: 'checked', payloads: [] });
        await log.append([payload(1), payload(2)]);
        await log.storeHead();
        await log.append([payload(3)]); // durable, but after the head: a kill before the commit
      });
      await appendFile(file, encodeFrames([payload(4)]).subarray(0, 20));
      await withLog(dir, async (log) => {
        expect(await log.load()).toEqual({ format: 'checked', payloads: [payload(1), payload(2), payload(3)] });
        await log.append([payload(5)]);
        await log.storeHead();
      });
      await withLog(dir, async (log) => expect(await log.load()).toEqual({ format: 'checked', payloads: [payload(1), payload(2), payload(3), payload(5)] }));
    } finally {
      await cleanup();
    }
  });

  const damaged: [string, (file: string) => Promise<void>][] = [
    ['cut inside the committed part', async (file) => truncate(file, (await readFile(file)).length - 3)],
    [
      'a block garbled',
      async (file) => {
        const buf = await readFile(file);
        buf[buf.length - 2]! ^= 0x10;
        await writeFile(file, buf);
      },
    ],
    ['deleted', async (file) => rm(file)],
    ['replaced by a log of another generation', async (file) => writeFile(file, encodeFrames([payload(1)], 9))],
    // Same generation, longer than committed: only the identity tells it is another pipeline's.
    ['replaced by a longer log of the same generation made elsewhere', async (file) => writeFile(file, encodeFrames([payload(1), payload(2), payload(3)], 1, 'another-log'))],
  ];
  for (const [name, damage] of damaged) {
    it(`${name}: STATE_CORRUPT naming the file, and the file left as it is`, async () => {
      const { dir, cleanup } = await tmpDir('plumline-checked-');
      try {
        const file = join(dir, 'pipelines', 'p', 'op~keys.log');
        await withLog(dir, async (log) => {
          await log.load();
          await log.append([payload(1), payload(2)]);
          await log.storeHead();
        });
        await damage(file);
        const before = await readFile(file).catch(() => undefined);
        const err = await withLog(dir, (log) => log.load()).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('op~keys.log') });
        expect(await readFile(file).catch(() => undefined)).toEqual(before);
      } finally {
        await cleanup();
      }
    });
  }

  it('a rewrite that landed after the last head (a kill before the head was stored) is the next generation: accepted', async () => {
    const { dir, cleanup } = await tmpDir('plumline-checked-');
    try {
      const file = join(dir, 'pipelines', 'p', 'op~keys.log');
      await withLog(dir, async (log) => {
        await log.load();
        await log.append([payload(1), payload(2)]);
        await log.storeHead();
      });
      // A rewrite keeps the log's identity.
      const { id } = decodeFrames(await readFile(file));
      expect(id).toEqual(expect.any(String));
      await writeFile(file, encodeFrames([payload(2)], 2, id));
      await withLog(dir, async (log) => expect(await log.load()).toEqual({ format: 'checked', payloads: [payload(2)] }));
    } finally {
      await cleanup();
    }
  });

  it('a log from before checked logs (no head frame, no committed head) is handed back whole, once: dedupe rewrites it checked', async () => {
    const { dir, cleanup } = await tmpDir('plumline-checked-');
    try {
      const file = join(dir, 'pipelines', 'p', 'op~keys.log');
      await withLog(dir, async () => {});
      const old = encodeKeyBlocks([{ positions: [{ source: 'gen', seq: 1 }], keys: Uint32Array.from([1, 2, 3]) }]);
      await writeFile(file, old);
      await withLog(dir, async (log) => {
        const loaded = await log.load();
        expect(loaded).toEqual({ format: 'legacy', data: old });
        await log.rewrite([old]);
      });
      await withLog(dir, async (log) => expect(await log.load()).toEqual({ format: 'checked', payloads: [old] }));
      // Now checked: the same file cut is refused.
      await truncate(file, (await readFile(file)).length - 1);
      await expect(withLog(dir, (log) => log.load())).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
    } finally {
      await cleanup();
    }
  });
});
