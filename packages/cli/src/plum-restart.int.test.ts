import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumEmulator } from '@plumline/source-plum/emulator';
import { checkExactAfterKills } from './test-support/exact-restarts.js';

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

describe('plum source restart (real process, SIGKILL mid-backfill, no dedupe)', () => {
  it(`files hold every call, session and error of the range exactly once after ${TRIALS * KILLS_PER_TRIAL} kills, as a fault-free run writes them`, { timeout: 300_000 }, async () => {
    // Ends inside `lateness` (2h): after a restart its last part is read again, and the ids the
    // checkpoint keeps (`@seen`) must keep that exact.
    const end = Math.floor(Date.now() / 1000) - 600;
    const start = end - 2 * 86_400;
    // No dedupe: exactness must come from the source's positions and the file sink's commit index.
    const { expected, kills } = await checkExactAfterKills(
      `runtime: { commit_interval: 50ms }
sources:
  plum: { type: plum, base_url: "${url}", username: u, password: p, start: ${start}, end: ${end}, streams: [sessions, calls, errors], page_size: 100, concurrency: 4 }
sinks:
  files: { type: file, inputs: [plum], path: "out/{{kind}}.ndjson" }
`,
      { trials: TRIALS, killsPerTrial: KILLS_PER_TRIAL },
    );
    for (const kind of ['call', 'session', 'error']) expect(expected.some((id) => id.startsWith(`plum:${kind}:`)), kind).toBe(true);
    console.log(`plum restart: ${kills} kills mid-run over ${TRIALS} backfills of ${expected.length} records`);
    expect(kills).toBeGreaterThanOrEqual((TRIALS * KILLS_PER_TRIAL) / 2);
  });
});
