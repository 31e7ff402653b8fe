import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli, runWithRandomKills } from './test-support/run-cli.js';
import { seededRandom } from './test-support/seeded-random.js';
import { committedIdCounts, seedCallTopic } from './test-support/call-topics.js';

const EVENTS = 30_000;
/** The group test's input: as large as the scale-out test asks. */
const GROUP_EVENTS = 300_000;
const PARTITIONS = 6;
const SEED = 777;
/** Kills are armed once the first checkpoint of a run was committed, so they land mid-run. */
const ARM_ON = /first checkpoint committed/;

const brokers = () => inject('kafkaBrokers');
const suffix = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

const seedInput = (topic: string, events = EVENTS) => seedCallTopic(brokers(), topic, { events, partitions: PARTITIONS, seed: SEED });
const idCounts = (topic: string) => committedIdCounts(brokers(), topic);

describe('kafka source under SIGKILL (real broker, independent Java read_committed reader)', () => {
  // No dedupe in this chain: each input record (repeats included) must be in the output exactly
  // as often as in the input, which only exact source positions give. (generate → dedupe →
  // exactly-once is exactly-once.kafka.int.test.ts.)
  it(`exactly-once, one worker: kafka (${PARTITIONS} partitions, 10% repeats) → kafka exactly_once: every input record exactly once after random kills`, { timeout: 400_000 }, async () => {
    const s = suffix();
    const expected = await seedInput(`in-${s}`);
    const { dir, cleanup } = await tmpDir('plumline-ksrc-eos-');
    let kills: number;
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        `id: ksrc-eos-${s}
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-${s} }
runtime: { max_in_flight_batches: 4, commit_interval: 200ms }
sources:
  raw: { type: kafka, brokers: ${JSON.stringify(brokers())}, topics: [in-${s}], group_id: eos-${s}, stop_at_end: true, max_batch_events: 100, session_timeout: 6s }
sinks:
  out: { type: kafka, inputs: [raw], brokers: ${JSON.stringify(brokers())}, topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`,
      );
      kills = await runWithRandomKills(dir, { attempts: 8, minMs: 50, spreadMs: 450, logLevel: 'info', armOn: ARM_ON });
    } finally {
      await cleanup();
    }
    const counts = await idCounts(`out-${s}`);
    const more = [...counts].filter(([id, n]) => n > (expected.get(id) ?? 0)).length;
    const fewer = [...expected].filter(([id, n]) => (counts.get(id) ?? 0) < n).length;
    console.log(`kafka source exactly-once: ${kills} kills mid-run, ${counts.size} ids, ${more} more often than in the input, ${fewer} less often`);
    expect({ more, fewer }).toEqual({ more: 0, fewer: 0 });
    expect(kills).toBeGreaterThanOrEqual(4);
  });

  it(`exactly-once, three workers with two partitions each (partitions:, dedupe keyed like the input): one killed at random moments, every id exactly once`, { timeout: 400_000 }, async () => {
    const s = suffix();
    const expected = await seedInput(`in-${s}`);
    const dirs = await Promise.all([0, 1, 2].map(() => tmpDir('plumline-ksrc-eos3-')));
    let kills: number;
    try {
      for (const [w, d] of dirs.entries()) {
        await writeFile(
          join(d.dir, 'p.yaml'),
          `id: ksrc-eos3-${s}-w${w}
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-${s} }
runtime: { max_in_flight_batches: 4, commit_interval: 200ms }
sources:
  raw: { type: kafka, brokers: ${JSON.stringify(brokers())}, topics: [in-${s}], group_id: eos3-${s}, keyed_by: [id], partitions: [${2 * w}, ${2 * w + 1}], stop_at_end: true, max_batch_events: 20, session_timeout: 6s }
transforms:
  unique: { type: dedupe, inputs: [raw], key: [id] }
sinks:
  out: { type: kafka, inputs: [unique], brokers: ${JSON.stringify(brokers())}, topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`,
        );
      }
      const victim = runWithRandomKills(dirs[0]!.dir, { attempts: 4, minMs: 50, spreadMs: 400, logLevel: 'info', armOn: ARM_ON });
      const args = ['run', 'p.yaml', '--once', '--log-level', 'warn'];
      const others = await Promise.all([1, 2].map((i) => runCli(args, dirs[i]!.dir)));
      for (const o of others) expect(o.code, o.stderr).toBe(0);
      kills = await victim;
    } finally {
      for (const d of dirs) await d.cleanup();
    }
    const counts = await idCounts(`out-${s}`);
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    const missing = [...expected.keys()].filter((id) => !counts.has(id)).length;
    console.log(`kafka source exactly-once, 3 workers: ${kills} kills of worker 0 mid-run, ${counts.size} ids, ${duplicated} duplicated, ${missing} missing`);
    expect({ duplicated, missing, extra: counts.size - expected.size }).toEqual({ duplicated: 0, missing: 0, extra: 0 });
    expect(kills).toBeGreaterThanOrEqual(2);
  });

  it(`at-least-once, three workers in one group on ${PARTITIONS} partitions (${GROUP_EVENTS} records): one killed at random moments and restarted, nothing lost`, { timeout: 400_000 }, async () => {
    const s = suffix();
    const expected = await seedInput(`in-${s}`, GROUP_EVENTS);
    const dirs = await Promise.all([0, 1, 2].map(() => tmpDir('plumline-ksrc-alo-')));
    try {
      // Small pages, few in flight: a worker's share takes seconds, so the kills land mid-run
      // even on a loaded machine.
      const yaml = `id: ksrc-alo-${s}
runtime: { max_in_flight_batches: 2, commit_interval: 200ms }
sources:
  raw: { type: kafka, brokers: ${JSON.stringify(brokers())}, topics: [in-${s}], group_id: alo-${s}, stop_at_end: true, max_batch_events: 200, session_timeout: 6s }
sinks:
  out: { type: kafka, inputs: [raw], brokers: ${JSON.stringify(brokers())}, topic: out-${s}, create_topics: { partitions: 3 } }
`;
      for (const d of dirs) await writeFile(join(d.dir, 'p.yaml'), yaml);
      const args = ['run', 'p.yaml', '--once', '--log-level', 'info'];
      // Worker 0 starts alone (all six partitions are its) and is killed a moment after its first
      // commit; then the other two join while it is started and killed again. Started together,
      // a loaded machine could let the other two read everything before worker 0 had a partition.
      const first = await runCli(args, dirs[0]!.dir, seededRandom('kafka-source first kill').between(50, 200), ARM_ON);
      const victim = runWithRandomKills(dirs[0]!.dir, { attempts: 2, minMs: 10, spreadMs: 200, logLevel: 'info', armOn: ARM_ON });
      const others = await Promise.all([1, 2].map((i) => runCli(args, dirs[i]!.dir)));
      for (const o of others) expect(o.code, o.stderr).toBe(0);
      const kills = (first.code === null ? 1 : 0) + (await victim);
      const counts = await idCounts(`out-${s}`);
      const fewer = [...expected].filter(([id, n]) => (counts.get(id) ?? 0) < n).length;
      const more = [...counts].filter(([id, n]) => n > (expected.get(id) ?? 0)).length;
      console.log(`kafka source at-least-once, 3 workers: ${kills} kills of worker 0 mid-run, ${counts.size} ids, ${more} more often than in the input (read again after a rebalance), ${fewer} less often`);
      expect(fewer).toBe(0);
      expect(counts.size).toBe(expected.size);
      expect(kills).toBeGreaterThanOrEqual(1);
    } finally {
      for (const d of dirs) await d.cleanup();
    }
  });
});
