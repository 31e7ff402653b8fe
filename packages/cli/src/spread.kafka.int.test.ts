import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { committedIdCounts } from './test-support/call-topics.js';
import { startPlumTenantsServer } from './test-support/plum-tenants-server.js';
import { CLI_BIN, startCli, type CliProcess } from './test-support/run-cli.js';
import { seededRandom } from './test-support/seeded-random.js';

const ACCOUNTS = 1_000;
const SESSIONS_PER_ACCOUNT = 12;
const SHARES = 12;
/** How long the test waits for every expected id to be in the output. */
const DEADLINE_MS = 300_000;

/** Resolves once `w` logged `pattern`; rejects, with its log, if it exits first (a refused config must not wait out the timeout). */
function logged(w: CliProcess, pattern: RegExp): Promise<void> {
  return Promise.race([w.waitFor(pattern), w.exited.then((code) => Promise.reject(new Error(`worker exited (${code}) before logging ${pattern}:\n${w.stderr().slice(-2000)}`)))]);
}

describe('spread: N ingest workers share the tenants through Kafka (real broker, Java read_committed reader)', () => {
  const brokers = () => inject('kafkaBrokers');

  it(`three workers share ${ACCOUNTS} Plum accounts, one killed (SIGKILL) mid-run and not started again: every session of every account exactly once in the output topic`, { timeout: 480_000 }, async () => {
    const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    // 120 ms a request keeps the run long enough that the kill lands mid-run (at 20 ms, with the
    // tenants scheduler on main, every id was out before the third worker had joined).
    const plum = await startPlumTenantsServer({ accounts: ACCOUNTS, sessionsPerAccount: SESSIONS_PER_ACCOUNT, latencyMs: 120, nowSec: Math.floor(Date.now() / 1000) });
    const yaml = `id: spread-${s}
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-${s} }
runtime: { commit_interval: 200ms }
spread: { partitions: ${SHARES}, topic: tenants-${s}, session_timeout: 6s }
sources:
  plum: { type: plum, base_url: "${plum.url}", accounts_file: accounts.yaml, streams: [sessions], backfill: 2h, poll_interval: 2s, page_size: 4 }
sinks:
  out: { type: kafka, inputs: [plum], brokers: ${JSON.stringify(brokers())}, topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`;
    const accountsYaml = plum.accounts.map((a) => `- { name: ${a.name}, username: ${a.username}, password: ${a.password} }`).join('\n');
    const dirs = await Promise.all([0, 1, 2].map(() => tmpDir('plumline-spread-')));
    for (const d of dirs) {
      await writeFile(join(d.dir, 'p.yaml'), yaml);
      await writeFile(join(d.dir, 'accounts.yaml'), accountsYaml);
    }
    const args = ['run', 'p.yaml', '--log-level', 'info'];
    const workers: CliProcess[] = [];
    let victim: CliProcess | undefined;
    let afterKill = 0;
    let victimShares: number[] = [];
    /** Where each survivor's log stood when the victim died: what follows is the takeover. */
    let logAtKill: number[] = [];
    try {
      // Two workers share the tenants out; the third joins (takes shares from them, drained and
      // handed over) and is killed a moment after one of its shares committed.
      workers.push(startCli(args, dirs[0]!.dir), startCli(args, dirs[1]!.dir));
      await Promise.all(workers.map((w) => logged(w, /first checkpoint committed/)));
      victim = startCli(args, dirs[2]!.dir);
      await logged(victim, /first checkpoint committed/);
      await sleep(seededRandom('spread kill').between(200, 700));
      victimShares = [...victim.stderr().matchAll(/"tasks":\[([\d,]*)\][^\n]*tasks assigned/g)].at(-1)?.[1]?.split(',').filter(Boolean).map(Number) ?? [];
      logAtKill = workers.map((w) => w.stderr().length);
      victim.child.kill('SIGKILL');
      expect(await victim.exited).toBe(null);
      afterKill = (await committedIdCounts(brokers(), `out-${s}`)).size;
      let counts = new Map<string, number>();
      for (const until = Date.now() + DEADLINE_MS; Date.now() < until && counts.size < plum.expectedIds.size; await sleep(3_000)) {
        counts = await committedIdCounts(brokers(), `out-${s}`);
      }
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) expect(await w.exited, w.stderr().slice(-3000)).toBe(0);
    } finally {
      for (const w of [...workers, victim]) w?.child.kill('SIGKILL');
      await plum.close();
      for (const d of dirs) await d.cleanup();
    }
    const counts = await committedIdCounts(brokers(), `out-${s}`);
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    const missing = [...plum.expectedIds].filter((id) => !counts.has(id)).length;
    const extra = [...counts.keys()].filter((id) => !plum.expectedIds.has(id)).length;
    // The survivors ran the dead worker's shares: started there after it died, from its checkpoints.
    const takenOver = victimShares.filter((share) => workers.some((w, i) => w.stderr().slice(logAtKill[i]).split('\n').some((l) => l.includes(`"pipeline":"spread-${s}-p${share}"`) && l.includes('state loaded'))));
    console.log(`spread: ${ACCOUNTS} accounts on ${SHARES} shares, 3 workers, the third killed holding shares [${victimShares.join(', ')}] with ${afterKill} of ${plum.expectedIds.size} ids out; ${counts.size} ids, ${duplicated} duplicated, ${missing} missing, ${extra} unexpected`);
    // What the workers said about their group and shares: the diagnosis goes into the assertion's message.
    const groupLines = [...workers, victim].flatMap((w, i) => (w?.stderr() ?? '').split('\n').filter((l) => /tasks assigned|rebalanc|group|session|fenced|failed|Heartbeat/i.test(l) && !l.includes('"pipeline":"spread-' + s + '-p')).slice(-40).map((l) => `[worker ${i}] ${l.slice(0, 300)}`));
    if (process.env.SPREAD_TEST_LOGS) for (const [i, w] of [...workers, victim].entries()) await writeFile(join(process.env.SPREAD_TEST_LOGS, `worker-${i}.log`), w?.stderr() ?? '');
    expect({ duplicated, missing, extra }, groupLines.join('\n')).toEqual({ duplicated: 0, missing: 0, extra: 0 });
    expect(victimShares.length).toBeGreaterThan(0);
    expect(takenOver).toEqual(victimShares);
    expect(afterKill).toBeLessThan(plum.expectedIds.size);
  });
  it('plumline tap previews a spread pipeline in one process, every tenant (no shares, no group, no Kafka transactions)', { timeout: 60_000 }, async () => {
    const plum = await startPlumTenantsServer({ accounts: 3, sessionsPerAccount: 2, latencyMs: 0, nowSec: Math.floor(Date.now() / 1000) });
    const d = await tmpDir('plumline-spread-tap-');
    try {
      const accounts = plum.accounts.map((a) => `{ name: ${a.name}, username: ${a.username}, password: ${a.password} }`).join(', ');
      await writeFile(join(d.dir, 'p.yaml'), `id: spread-tap
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-spread-tap }
spread: { partitions: 12 }
sources:
  plum: { type: plum, base_url: "${plum.url}", accounts: [${accounts}], streams: [sessions], backfill: 2h }
sinks:
  out: { type: kafka, inputs: [plum], brokers: ${JSON.stringify(brokers())}, topic: out-spread-tap, exactly_once: true }
`);
      const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [CLI_BIN, 'tap', 'p.yaml', 'plum', '--limit', '6'], { cwd: d.dir }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })),
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: expect.any(String) as string });
      const accountsSeen = new Set(stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { attributes: { account: string } }).attributes.account));
      expect(accountsSeen, stdout + stderr).toEqual(new Set(plum.accounts.map((a) => a.name)));
    } finally {
      await plum.close();
      await d.cleanup();
    }
  });
});
