import { openSync, closeSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileChunks, readNdjsonEvents } from './stdin-source.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The pages read from a regular file holding `text`, read `chunkBytes` at a time. */
async function pagesOf(text: string, chunkBytes: number, batchSize: number) {
  const dir = mkdtempSync(join(tmpdir(), 'stdin-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'in.ndjson'), text);
  const fd = openSync(join(dir, 'in.ndjson'), 'r');
  try {
    const pages = [];
    for await (const p of readNdjsonEvents(fileChunks(fd, undefined, chunkBytes), 'in', batchSize, 1 << 20)) pages.push(p);
    return pages;
  } finally {
    closeSync(fd);
  }
}

describe('stdin source reading a regular file', () => {
  it('emits batches of batch_size events whatever the chunk size (the same batches on every run)', async () => {
    const text = Array.from({ length: 25 }, (_, i) => JSON.stringify({ id: `e${i}`, kind: 'call', attributes: { i } })).join('\n') + '\n';
    for (const chunk of [7, 64, 1000, 1 << 20]) {
      const pages = await pagesOf(text, chunk, 10);
      expect(pages.map((p) => p.events.length)).toEqual([10, 10, 5]);
      expect(pages.flatMap((p) => p.events.map((e) => e.id))).toEqual(Array.from({ length: 25 }, (_, i) => `e${i}`));
    }
  });

  it('decodes a character whose UTF-8 bytes are split between two reads', async () => {
    // "é" is two bytes: with 3-byte chunks the line below splits it at every offset tried.
    const lines = ['{"id":"a","attributes":{"name":"José Müller ☎"}}', '{"id":"b","attributes":{"name":"ñandú"}}'];
    for (const chunk of [1, 2, 3, 5]) {
      const pages = await pagesOf(lines.join('\n'), chunk, 100);
      expect(pages.flatMap((p) => p.events.map((e) => e.attributes.name))).toEqual(['José Müller ☎', 'ñandú']);
      expect(pages.flatMap((p) => p.dead ?? [])).toEqual([]);
    }
  });
});
