import { createHash } from 'node:crypto';
import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { runCli } from './test-support/run-cli.js';

/**
 * Operator logs in the state directory (dedupe's key log, correlate's held-event log), damaged
 * while the pipeline is stopped. The first run reads FIRST events, the second the next ones up to
 * ALL: dedupe needs the keys of the first run to drop the repeats of them in the second.
 */
const FIRST = 6_000;
const ALL = 12_000;

const dedupePipeline = (count: number, seed = 11): string => `id: alpha
runtime: { commit_interval: 20ms }
state: { type: directory, path: state }
sources:
  gen: { type: generate, seed: ${seed}, count: ${count}, batch_size: 50, rate: 20000, duplicate_ratio: 0.2 }
transforms:
  unique: { type: dedupe, inputs: [gen], key: [id] }
sinks:
  out: { type: file, inputs: [unique], path: out.ndjson }
`;

const correlatePipeline = (count: number, seed = 23): string => `id: alpha
runtime: { commit_interval: 20ms }
state: { type: directory, path: state }
sources:
  gen: { type: generate, seed: ${seed}, count: ${count}, batch_size: 50, rate: 20000 }
transforms:
  joined:
    type: correlate
    inputs: [gen]
    window: 1h
    durable_after: 0s
    rules: [{ name: channel_errors, anchor: { kind: session }, partner: { kind: error }, anchor_key: attributes.channel, partner_key: attributes.channel, as: errors, emit: window }]
sinks:
  out: { type: file, inputs: [joined], path: out.ndjson }
`;

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

const run = (dir: string, once = true) => runCli(['run', 'p.yaml', ...(once ? ['--once'] : []), '--log-level', 'info'], dir);

/** The ids a fault-free generate (20% repeats) → dedupe keeps, in order: from the generator alone, not from our dedupe. */
function expectedUnique(count: number): string[] {
  const gen = new CallGenerator({ seed: 11, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.2, source: 'gen' });
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = gen.event(i).id;
    if (!seen.has(id)) out.push(id);
    seen.add(id);
  }
  return out;
}

/** The checker: every id in the output file, in order (nested partners included). */
async function idsIn(file: string): Promise<string[]> {
  const ids: string[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as CallEvent;
    ids.push(e.id, ...((e.attributes.errors as CallEvent[] | undefined) ?? []).map((p) => p.id));
  }
  return ids;
}

/** Appends half of a copy of the log's last block, as a process killed while appending leaves it. */
async function tornAppend(log: string): Promise<void> {
  const buf = await readFile(log);
  const f = frames(buf);
  const [start, end] = f[f.length - 1]!;
  await appendFile(log, buf.subarray(start, start + Math.floor((end - start) / 2)));
}

/** [start, end) of each frame of a checked log (u32 LE magic, u32 LE payload length, u32 LE CRC-32, payload). */
function frames(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let off = 0; off + 12 <= buf.length; ) {
    const end = off + 12 + buf.readUInt32LE(off + 4);
    out.push([off, end]);
    off = end;
  }
  return out;
}

type Damage = (log: string) => Promise<void>;

const garbleMiddle: Damage = async (log) => {
  const buf = await readFile(log);
  const f = frames(buf);
  expect(f.length, 'blocks in the log').toBeGreaterThanOrEqual(4);
  const [start, end] = f[Math.floor(f.length / 2)]!;
  // One byte of the payload changed, the length kept: what a bad sector or a stray edit does.
  const at = start + 12 + Math.floor((end - start - 12) / 2);
  buf[at] = buf[at]! ^ 0x5a;
  await writeFile(log, buf);
};
const cutInHalf: Damage = async (log) => truncate(log, Math.floor((await readFile(log)).length / 2));
const deleted: Damage = async (log) => rm(log);

/**
 * The same log of a pipeline with the same id in another folder (another seed, run over ALL
 * events): longer than what was committed here, and of the same generation, so only an identity
 * in the log tells it apart.
 */
const foreign =
  (yaml: (count: number, seed: number) => string, seed: number, once: boolean): Damage =>
  async (log) => {
    const other = await tmpDir('plumline-oplog-foreign-');
    try {
      await writeFile(join(other.dir, 'p.yaml'), yaml(ALL, seed));
      const r = await run(other.dir, once);
      expect(r.code, r.stderr).toBe(0);
      const copy = await readFile(join(other.dir, 'state', 'pipelines', 'alpha', basename(log)));
      expect(copy.length, 'the foreign log is longer than the committed one').toBeGreaterThan((await readFile(log)).length);
      await writeFile(log, copy);
    } finally {
      await other.cleanup();
    }
  };

/**
 * The first run, to the end of its FIRST events. Without `once` (correlate) windows stay open
 * when the input ends: the events still held are in the log when the run stops.
 */
async function completedRun(yaml: (count: number) => string, once = true): Promise<{ dir: string; cleanup: () => Promise<void>; sha: string }> {
  const { dir, cleanup } = await tmpDir('plumline-oplog-');
  await writeFile(join(dir, 'p.yaml'), yaml(FIRST));
  const first = await run(dir, once);
  expect(first.code, first.stderr).toBe(0);
  await writeFile(join(dir, 'p.yaml'), yaml(ALL));
  return { dir, cleanup, sha: await sha256(join(dir, 'out.ndjson')) };
}

function refusedCases(yaml: (count: number) => string, file: string, cases: [string, Damage][], once = true): void {
  for (const [name, damage] of cases) {
    it(`${name}: the start stops with STATE_CORRUPT naming ${file}, exit non-zero, the output unchanged`, { timeout: 60_000 }, async () => {
      const r = await completedRun(yaml, once);
      try {
        await damage(join(r.dir, 'state', 'pipelines', 'alpha', file));
        const again = await run(r.dir);
        expect(again.code, again.stderr).not.toBe(0);
        expect(again.stderr).toContain('STATE_CORRUPT');
        expect(again.stderr).toContain(file);
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
}

describe("dedupe's key log damaged while stopped (the real CLI; generate 6,000 with 20% repeats → dedupe → file, then 12,000)", () => {
  const KEYS = 'unique~keys.log';

  it('a torn last block (an append cut short by a kill) is dropped: the second run ends 0 with every unique id exactly once, in order', { timeout: 60_000 }, async () => {
    const r = await completedRun(dedupePipeline);
    try {
      await tornAppend(join(r.dir, 'state', 'pipelines', 'alpha', KEYS));
      const second = await run(r.dir);
      expect(second.code, second.stderr).toBe(0);
      const ids = await idsIn(join(r.dir, 'out.ndjson'));
      expect(ids.length - new Set(ids).size, 'duplicates delivered').toBe(0);
      expect(ids).toEqual(expectedUnique(ALL));
    } finally {
      await r.cleanup();
    }
  });

  refusedCases(dedupePipeline, KEYS, [
    ['a block in the middle garbled', garbleMiddle],
    ['cut in half', cutInHalf],
    ['deleted', deleted],
    ['replaced by the longer log of a pipeline with the same id in another folder', foreign(dedupePipeline, 12, true)],
  ]);
});

describe("correlate's held-event log damaged while stopped (the real CLI; generate → correlate (1h window, durable_after 0s) → file; stopped with events held, then run --once)", () => {
  const HELD = 'joined~held.log.log';

  it('a torn last block is dropped: the second run ends 0 and every generated id comes out, none that was not generated', { timeout: 60_000 }, async () => {
    const r = await completedRun(correlatePipeline, false);
    try {
      await tornAppend(join(r.dir, 'state', 'pipelines', 'alpha', HELD));
      const second = await run(r.dir);
      expect(second.code, second.stderr).toBe(0);
      const gen = new CallGenerator({ seed: 23, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
      const expected = new Set(Array.from({ length: ALL }, (_, i) => gen.event(i).id));
      const got = new Set(await idsIn(join(r.dir, 'out.ndjson')));
      expect([...expected].filter((id) => !got.has(id)), 'ids lost').toEqual([]);
      expect([...got].filter((id) => !expected.has(id))).toEqual([]);
    } finally {
      await r.cleanup();
    }
  });

  refusedCases(
    correlatePipeline,
    HELD,
    [
      ['a block in the middle garbled', garbleMiddle],
      ['cut in half', cutInHalf],
      ['deleted', deleted],
      ['replaced by the longer log of a pipeline with the same id in another folder', foreign(correlatePipeline, 24, false)],
    ],
    false,
  );
});
