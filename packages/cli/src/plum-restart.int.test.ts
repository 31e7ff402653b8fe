import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumEmulator } from '@plumline/source-plum/emulator';
import { tmpDir } from '../../core/src/test-support/tmp-dir.js';
import { runWithRandomKills } from './test-support/run-cli.js';



let emulator: PlumEmulator;
let url: string;
beforeAll(async () => {
  // Latency makes the backfill take long enough to be killed in the middle of it.
  emulator = new PlumEmulator({ seed: 9, sessionsPerSecond: 0.05, username: 'u', password: 'p', faults: { latencyMs: 2 } });
  url = await emulator.start();
});
afterAll(() => emulator.stop());

describe('plum source restart (real process, SIGKILL mid-backfill)', () => {
  it('after kills and restarts the files hold every record of the range exactly once', { timeout: 180_000 }, async () => {
    const end = Math.floor(Date.now() / 1000) - 60;
    const start = end - 2 * 86_400;
    // What the emulator holds for the range, computed from its data model.
    const [lo, hi] = emulator.data.indexRange(start, end);
    const expected = new Set<string>();
    for (let i = lo; i < hi; i++) {
      const s = emulator.data.session(i);
      expected.add(`plum:session:${s.sessionId}`);
      if (emulator.data.hasCall(i)) expected.add(`plum:call:${400000000 + i}`);
    }
    let kills = 0;
    for (let trial = 0; trial < 5; trial++) {
      const { dir, cleanup } = await tmpDir('plumline-plum-');
      try {
        await writeFile(
          join(dir, 'p.yaml'),
          `runtime: { commit_interval: 50ms }
sources:
  plum: { type: plum, base_url: "${url}", username: u, password: p, start: ${start}, end: ${end}, streams: [sessions, calls], page_size: 200, concurrency: 4 }
transforms:
  unique: { type: dedupe, inputs: [plum] }
sinks:
  files: { type: file, inputs: [unique], path: "out/{{kind}}.ndjson" }
`,
        );
        kills += await runWithRandomKills(dir, { attempts: 3, minMs: 300, spreadMs: 1200 });
        const ids: string[] = [];
        for (const f of await readdir(join(dir, 'out'))) {
          const text = await readFile(join(dir, 'out', f), 'utf8');
          expect(text.endsWith('\n')).toBe(true);
          for (const line of text.split('\n')) if (line) ids.push((JSON.parse(line) as { id: string }).id);
        }
        expect(ids.length, `trial ${trial}: duplicates`).toBe(new Set(ids).size);
        expect(new Set(ids), `trial ${trial}`).toEqual(expected);
      } finally {
        await cleanup();
      }
    }
    expect(kills).toBeGreaterThanOrEqual(5);
  });
});
