import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { runWithRandomKills } from './test-support/run-cli.js';

const TRIALS = 20;
const EVENTS = 12_000;


async function readAll(dir: string, gzip: boolean): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const kind of ['session', 'call', 'error']) {
    const kindDir = join(dir, 'out', kind);
    let files: string[] = [];
    try {
      files = await readdir(kindDir);
    } catch {
      continue;
    }
    const part = (f: string) => Number(/\.(\d+)\.ndjson/.exec(f)?.[1] ?? 0);
    files.sort((a, b) => part(a) - part(b));
    const ids: string[] = [];
    for (const f of files) {
      const buf = await readFile(join(kindDir, f));
      const text = gzip ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
      // Every file must end in a whole line.
      expect(text === '' || text.endsWith('\n'), `${f} ends mid-line`).toBe(true);
      for (const line of text.split('\n')) if (line) ids.push((JSON.parse(line) as { id: string }).id);
    }
    out.set(kind, ids);
  }
  return out;
}

describe('file sink crash safety (real process, SIGKILL at random points)', () => {
  it(`output equals input exactly (generate → dedupe → file) after ${TRIALS} crash-and-restart trials`, { timeout: 240_000 }, async () => {
    // One in five events repeats a recent one; dedupe must drop exactly those, across crashes.
    const gen = new CallGenerator({ seed: 11, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.2, source: 'gen' });
    const expected = new Map<string, string[]>();
    const seen = new Set<string>();
    for (let i = 0; i < EVENTS; i++) {
      const e = gen.event(i);
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      expected.set(e.kind, [...(expected.get(e.kind) ?? []), e.id]);
    }
    expect(seen.size).toBeLessThan(EVENTS * 0.9);
    let kills = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { dir, cleanup } = await tmpDir('plumline-crash-');
      try {
        const gzip = trial % 3 === 1;
        const rotate = trial % 4 === 2 ? '\n    rotate: { max_bytes: 64KB }' : '';
        await writeFile(
          join(dir, 'p.yaml'),
          `runtime: { commit_interval: 20ms }
sources:
  gen: { type: generate, seed: 11, count: ${EVENTS}, batch_size: 50, rate: 40000, duplicate_ratio: 0.2 }
transforms:
  unique: { type: dedupe, inputs: [gen], key: [id] }
sinks:
  files:
    type: file
    inputs: [unique]
    path: "out/{{kind}}/%Y-%m-%d.ndjson"
    gzip: ${gzip}${rotate}
`,
        );
        // Two kills at random points, then let it finish.
        kills += await runWithRandomKills(dir, { attempts: 2, minMs: 150, spreadMs: 350 });
        const got = await readAll(dir, gzip);
        for (const [kind, ids] of expected) expect(got.get(kind), `trial ${trial} kind ${kind}`).toEqual(ids);
      } finally {
        await cleanup();
      }
    }
    // The test only means something if processes really died mid-run.
    expect(kills).toBeGreaterThanOrEqual(TRIALS);
  });
});
