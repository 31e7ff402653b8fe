import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../testing/tmp-dir.js';
import { writeAll, type VectorWriter } from './write-all.js';

/** A real file whose writev stops after `limit` bytes per call, as a kernel may. */
function shortWrites(fh: VectorWriter & { write(b: Buffer): Promise<{ bytesWritten: number }> }, limit: number, calls: number[]): VectorWriter {
  return {
    async writev(buffers) {
      calls.push(buffers.length);
      const all = Buffer.concat(buffers);
      return fh.write(all.subarray(0, Math.min(limit, all.length)));
    },
  };
}

describe('writeAll', () => {
  it('resumes after short writes, mid-buffer and on buffer boundaries, until every byte is written in order', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const parts = ['first line\n', '', 'second\n', 'x'.repeat(50) + '\n', 'end\n'].map((t) => Buffer.from(t));
      for (const limit of [1, 3, 7, 11, 18, 1000]) {
        const path = join(dir, `out-${limit}`);
        const fh = await open(path, 'w');
        const calls: number[] = [];
        await writeAll(shortWrites(fh, limit, calls), parts);
        await fh.close();
        expect(await readFile(path, 'utf8')).toBe(Buffer.concat(parts).toString());
        expect(calls.length).toBe(Math.ceil(Buffer.concat(parts).length / limit));
      }
    } finally {
      await cleanup();
    }
  });

  it('fails instead of looping when the handle writes nothing', async () => {
    await expect(writeAll({ writev: async () => ({ bytesWritten: 0 }) }, [Buffer.from('a')])).rejects.toThrow();
  });

  it('writes nothing for no buffers or only empty ones', async () => {
    const calls: number[] = [];
    const fh: VectorWriter = { writev: async (b) => (calls.push(b.length), { bytesWritten: 0 }) };
    await writeAll(fh, []);
    await writeAll(fh, [Buffer.alloc(0)]);
    expect(calls).toEqual([]);
  });
});
