import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IplumEmulator } from '@plumline/source-iplum/emulator';
import { tmpDir } from '../../core/src/test-support/tmp-dir.js';
import { runCli, runWithRandomKills } from './test-support/run-cli.js';

const TRIALS = 4;
const KILLS_PER_TRIAL = 5;

let emulator: IplumEmulator;
let url: string;
beforeAll(async () => {
  // Latency makes the backfill take long enough to be killed in the middle of it.
  emulator = new IplumEmulator({ seed: 4, recordsPerSecond: 0.01, faults: { latencyMs: 15 } });
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

describe('iplum source restart (real process, SIGKILL mid-backfill, no dedupe)', () => {
  it(`files hold every usage record and recording of the range exactly once after ${TRIALS * KILLS_PER_TRIAL} kills, as a fault-free run writes them`, { timeout: 300_000 }, async () => {
    // Older than `overlap` (5m): nothing in the range can still be listed late, so nothing is read twice.
    const end = new Date(Date.now() - 600_000).toISOString();
    const start = new Date(Date.now() - 600_000 - 30 * 86_400_000).toISOString();
    // No dedupe: exactness must come from the source's positions and the file sink's commit index.
    const yaml = `runtime: { commit_interval: 50ms }
sources:
  iplum: { type: iplum, base_url: "${url}", access_key: DEMOACCESSKEY, secret_key: demo-secret-key, username: admin@acme-voice.com, start: "${start}", end: "${end}", window: 6h, content: false, recording_urls: false }
sinks:
  files: { type: file, inputs: [iplum], path: "out/{{kind}}.ndjson" }
`;
    const reference = await tmpDir('plumline-iplum-ref-');
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
    expect(expected.length).toBeGreaterThan(1000);

    let kills = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { dir, cleanup } = await tmpDir('plumline-iplum-');
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
    console.log(`iplum restart: ${kills} kills mid-run over ${TRIALS} backfills of ${expected.length} records`);
    expect(kills).toBeGreaterThanOrEqual((TRIALS * KILLS_PER_TRIAL) / 2);
  });
});
