import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumEmulator } from '@plumline/source-plum/emulator';
import { tmpDir } from '../../core/src/test-support/tmp-dir.js';
import { runCli, runWithRandomKills } from './test-support/run-cli.js';

const TRIALS = 4;
const KILLS_PER_TRIAL = 5;

let emulator: PlumEmulator;
let url: string;
beforeAll(async () => {
  // Latency makes the backfill take long enough to be killed in the middle of it.
  emulator = new PlumEmulator({ seed: 9, sessionsPerSecond: 0.05, username: 'u', password: 'p', faults: { latencyMs: 2 } });
  url = await emulator.start();
});
afterAll(() => emulator.stop());

/** Every line of every output file, as ids; each file must end in a whole line. */
async function readIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const f of await readdir(join(dir, 'out'))) {
    const text = await readFile(join(dir, 'out', f), 'utf8');
    expect(text.endsWith('\n'), `${f} ends mid-line`).toBe(true);
    for (const line of text.split('\n')) if (line) ids.push((JSON.parse(line) as { id: string }).id);
  }
  return ids.sort();
}

describe('plum source restart (real process, SIGKILL mid-backfill, no dedupe)', () => {
  it(`files hold every call, session and error of the range exactly once after ${TRIALS * KILLS_PER_TRIAL} kills, as a fault-free run writes them`, { timeout: 300_000 }, async () => {
    // Older than `overlap` (5m): nothing in the range can still be listed late, so nothing is read twice.
    const end = Math.floor(Date.now() / 1000) - 600;
    const start = end - 2 * 86_400;
    // No dedupe: exactness must come from the source's positions and the file sink's commit index.
    const yaml = `runtime: { commit_interval: 50ms }
sources:
  plum: { type: plum, base_url: "${url}", username: u, password: p, start: ${start}, end: ${end}, streams: [sessions, calls, errors], page_size: 100, concurrency: 4 }
sinks:
  files: { type: file, inputs: [plum], path: "out/{{kind}}.ndjson" }
`;
    const reference = await tmpDir('plumline-plum-ref-');
    let expected: string[];
    try {
      await writeFile(join(reference.dir, 'p.yaml'), yaml);
      const r = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], reference.dir);
      expect(r.code, r.stderr).toBe(0);
      expected = await readIds(reference.dir);
    } finally {
      await reference.cleanup();
    }
    expect(new Set(expected).size).toBe(expected.length);
    for (const kind of ['call', 'session', 'error']) expect(expected.some((id) => id.startsWith(`plum:${kind}:`)), kind).toBe(true);

    let kills = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { dir, cleanup } = await tmpDir('plumline-plum-');
      try {
        await writeFile(join(dir, 'p.yaml'), yaml);
        kills += await runWithRandomKills(dir, { attempts: KILLS_PER_TRIAL, minMs: 50, spreadMs: 600, logLevel: 'info', armOn: /first checkpoint committed/ });
        const ids = await readIds(dir);
        const duplicated = ids.length - new Set(ids).size;
        expect({ trial, duplicated, count: ids.length }).toEqual({ trial, duplicated: 0, count: expected.length });
        expect(ids).toEqual(expected);
      } finally {
        await cleanup();
      }
    }
    console.log(`plum restart: ${kills} kills mid-run over ${TRIALS} backfills of ${expected.length} records`);
    expect(kills).toBeGreaterThanOrEqual((TRIALS * KILLS_PER_TRIAL) / 2);
  });
});
