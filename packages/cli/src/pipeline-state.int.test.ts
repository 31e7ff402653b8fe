import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryStateStore, type JsonValue } from '@plumline/core';
import { tmpDir } from '@plumline/core/testing';
import { runCli } from './test-support/run-cli.js';

/** The `attributes.index` of every line of an NDJSON file the file sink wrote. */
async function indexes(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { attributes: { index: number } }).attributes.index);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function pipelineFile(dir: string, id: string, count: number): Promise<string> {
  const file = `${id}.yaml`;
  await writeFile(join(dir, file), `id: ${id}\nsources:\n  gen: { type: generate, count: ${count} }\nsinks:\n  out: { type: file, inputs: [gen], path: out/${id}.ndjson }\n`);
  return file;
}

describe('state belongs to a pipeline (plumline run, default state directory)', () => {
  it('two pipelines with different ids in one working directory each write exactly their own events', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const alpha = await runCli(['run', await pipelineFile(dir, 'alpha', 1000), '--once', '--log-level', 'warn'], dir);
      expect(alpha.code, alpha.stderr).toBe(0);
      // beta's source has alpha's source id: sharing one checkpoint, it started at 1000 and wrote 2,000.
      const beta = await runCli(['run', await pipelineFile(dir, 'beta', 3000), '--once', '--log-level', 'info'], dir);
      expect(beta.code, beta.stderr).toBe(0);
      expect(beta.stderr).not.toContain('"next":1000');
      expect(await indexes(join(dir, 'out/alpha.ndjson'))).toEqual(range(1000));
      expect(await indexes(join(dir, 'out/beta.ndjson'))).toEqual(range(3000));
      // Run again, each resumes where it ended: nothing twice.
      for (const id of ['alpha', 'beta']) expect((await runCli(['run', `${id}.yaml`, '--once', '--log-level', 'warn'], dir)).code).toBe(0);
      expect(await indexes(join(dir, 'out/alpha.ndjson'))).toEqual(range(1000));
      expect(await indexes(join(dir, 'out/beta.ndjson'))).toEqual(range(3000));
    } finally {
      await cleanup();
    }
  });
});

describe('state is checked before it is trusted (plumline run, file sink)', () => {
  // The table: each of these deleted committed output and exited 0 (or hung).
  it.each<[string, JsonValue]>([
    ['no seq', { gen: { position: { next: 20000 } } }],
    ['a string', { gen: 'x' }],
    ['a negative position', { gen: { seq: 20, position: { next: -5 } } }],
  ])('a checkpoint with %s stops the start with STATE_CORRUPT naming the file; no output is removed', { timeout: 120_000 }, async (_, bad) => {
    const { dir, cleanup } = await tmpDir();
    try {
      const file = await pipelineFile(dir, 'calls', 20_000);
      expect((await runCli(['run', file, '--once', '--log-level', 'warn'], dir)).code).toBe(0);
      const before = await readFile(join(dir, 'out/calls.ndjson'), 'utf8');
      const store = new DirectoryStateStore(join(dir, '.plumline/state'), { pipelineId: 'calls' });
      await store.open();
      await store.set('checkpoints', bad);
      await store.close();
      const r = await runCli(['run', file, '--once', '--log-level', 'warn'], dir, 60_000);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.code).not.toBeNull(); // ended on its own, no hang
      expect(r.stderr).toContain('STATE_CORRUPT');
      expect(r.stderr).toContain(join('.plumline', 'state', 'pipelines', 'calls', 'state.log'));
      expect(await readFile(join(dir, 'out/calls.ndjson'), 'utf8')).toBe(before);
    } finally {
      await cleanup();
    }
  });
});
