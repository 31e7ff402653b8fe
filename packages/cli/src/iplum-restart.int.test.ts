import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IplumEmulator } from '@plumline/source-iplum/emulator';
import { checkExactAfterKills } from './test-support/exact-restarts.js';

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

describe('iplum source restart (real process, SIGKILL mid-backfill, no dedupe)', () => {
  it(`files hold every usage record and recording of the range exactly once after ${TRIALS * KILLS_PER_TRIAL} kills, as a fault-free run writes them`, { timeout: 300_000 }, async () => {
    // Ends inside `lateness` (2h): after a restart its last part is read again, and the ids the
    // checkpoint keeps (`@seen`) must keep that exact.
    const end = new Date(Date.now() - 600_000).toISOString();
    const start = new Date(Date.now() - 600_000 - 30 * 86_400_000).toISOString();
    const { expected, kills } = await checkExactAfterKills(
      `runtime: { commit_interval: 50ms }
sources:
  iplum: { type: iplum, base_url: "${url}", access_key: DEMOACCESSKEY, secret_key: demo-secret-key, username: admin@acme-voice.com, start: "${start}", end: "${end}", window: 6h, content: false, recording_urls: false }
sinks:
  files: { type: file, inputs: [iplum], path: "out/{{kind}}.ndjson" }
`,
      { trials: TRIALS, killsPerTrial: KILLS_PER_TRIAL },
    );
    expect(expected.length).toBeGreaterThan(1000);
    console.log(`iplum restart: ${kills} kills mid-run over ${TRIALS} backfills of ${expected.length} records`);
    expect(kills).toBeGreaterThanOrEqual((TRIALS * KILLS_PER_TRIAL) / 2);
  });
});
