import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import type { CallEvent } from '@plumline/core';
import { committedIdCounts, seedCallTopic } from './test-support/call-topics.js';
import { ownBroker } from './test-support/own-broker.js';
import { readCommitted } from './test-support/read-committed.js';
import { startCli, type CliProcess } from './test-support/run-cli.js';
import { seededRandom } from './test-support/seeded-random.js';

const EVENTS = 300_000;
const PARTITIONS = 6;
/** A task's first commit in a worker's run: kills are armed on it, so they land mid-run. */
const ARM_ON = /first checkpoint committed/;
/** How long the test waits for every expected id to be in the output. */
const DEADLINE_MS = 300_000;

/** A broker of its own for the run whose broker pauses (as in a long GC pause), which other test files must not feel. */
const { brokers: pausedBrokers, control: pausedBroker } = ownBroker(39392);

/** Pauses the broker (SIGSTOP) for 0.5–4.5 s every 3–8 s until `running()` is false; resolves with how often. */
async function pauseBrokerWhile(running: () => boolean): Promise<number> {
  const schedule = seededRandom('kafka-tasks broker pauses');
  let pauses = 0;
  while (running()) {
    await sleep(schedule.between(3000, 5000));
    if (!running()) break;
    pausedBroker('pause');
    pauses++;
    await sleep(schedule.between(500, 4000));
    pausedBroker('resume');
  }
  return pauses;
}

/** Per input partition with ids missing from the output: how many, at which offsets, and the partition's last offset. */
async function missingByPartition(brokers: string[], topic: string, out: Map<string, number>): Promise<Map<number, string>> {
  const parts = new Map<number, { n: number; first: number; last: number; end: number }>();
  for (const r of await readCommitted(brokers, [topic])) {
    const p = parts.get(r.partition) ?? { n: 0, first: Infinity, last: -1, end: -1 };
    p.end = Math.max(p.end, r.offset);
    if (!out.has(r.key)) Object.assign(p, { n: p.n + 1, first: Math.min(p.first, r.offset), last: Math.max(p.last, r.offset) });
    parts.set(r.partition, p);
  }
  const missing = new Map<number, string>();
  for (const [partition, p] of parts) if (p.n > 0) missing.set(partition, `${p.n} records at offsets ${p.first}–${p.last} of 0–${p.end}`);
  return missing;
}

/** What the workers logged about one task's copies: where they started, what they loaded, how they ended. */
function taskLines(all: readonly CliProcess[], pipelineId: string): string {
  const tag = `"pipeline":"${pipelineId}"`;
  const interesting = /took over|state loaded|dedupe keys restored|first checkpoint|fenced|assigned partitions|stopping|retrying|failed|finished|taken over/;
  const lines: string[] = [];
  all.forEach((w, i) => {
    for (const l of w.stderr().split('\n')) if (l.includes(tag) && interesting.test(l)) lines.push(`[process ${i}] ${l.slice(0, 400)}`);
  });
  return lines.slice(0, 80).join('\n');
}

describe('task_per_partition: an elastic group with a task per partition (real broker, Java read_committed reader)', () => {
  beforeAll(() => pausedBroker('up'), 180_000);
  afterAll(() => pausedBroker('down'), 120_000);
  const brokers = () => inject('kafkaBrokers');

  // With pauses, workers time out, retry transactions and lose their group membership; killed
  // copies leave aborted transactions between the others' on the state topic, which kafkajs's own
  // read_committed filter read wrongly (a batch lost or repeated in 3 of 7 runs before the fix).
  it.each([
    { broker: 'a steady broker', paused: false },
    { broker: 'a broker that pauses for up to 4.5 s every few seconds', paused: true },
  ])(`three workers in one group, exactly-once through dedupe while one dies (SIGKILL) and another joins and leaves, with $broker: every id of ${EVENTS} (10% repeats, ${PARTITIONS} partitions) once`, { timeout: 480_000 }, async ({ paused }) => {
    const brokerList = paused ? pausedBrokers : brokers();
    const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const expected = await seedCallTopic(brokerList, `in-${s}`, { events: EVENTS, partitions: PARTITIONS, seed: 4242 });
    const yaml = `id: tasks-${s}
state: { type: kafka, brokers: ${JSON.stringify(brokerList)}, topic: state-${s} }
runtime: { max_in_flight_batches: 2, commit_interval: 200ms }
sources:
  raw: { type: kafka, brokers: ${JSON.stringify(brokerList)}, topics: [in-${s}], group_id: tasks-${s}, keyed_by: [id], task_per_partition: true, max_batch_events: 250, session_timeout: 6s }
transforms:
  unique: { type: dedupe, inputs: [raw], key: [id] }
sinks:
  out: { type: kafka, inputs: [unique], brokers: ${JSON.stringify(brokerList)}, topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`;
    const dirs = await Promise.all([0, 1, 2, 3].map(() => tmpDir('plumline-tasks-')));
    for (const d of dirs) await writeFile(join(d.dir, 'p.yaml'), yaml);
    const args = ['run', 'p.yaml', '--log-level', 'info'];
    /** Every worker process of the run, for the diagnosis printed when ids are missing. */
    const all: CliProcess[] = [];
    const start = (w: number): CliProcess => {
      const cli = startCli(args, dirs[w]!.dir);
      all.push(cli);
      return cli;
    };
    const running: CliProcess[] = [];
    let kills = 0;
    let afterKills = 0;
    let pausing = paused;
    const pauses = paused ? pauseBrokerWhile(() => pausing) : Promise.resolve(0);
    try {
      running.push(start(1), start(2));
      // Worker 0 dies three times, each a moment after one of its tasks committed; worker 3
      // joins after the first death and leaves (SIGTERM: its tasks drained and handed over)
      // after the second.
      let joiner: CliProcess | undefined;
      const schedule = seededRandom('kafka-tasks kills');
      for (let k = 0; k < 3; k++) {
        const victim = start(0);
        await victim.waitFor(ARM_ON);
        await sleep(schedule.between(200, 1000));
        if (victim.child.exitCode === null) {
          victim.child.kill('SIGKILL');
          kills++;
        }
        await victim.exited;
        if (k === 0) joiner = start(3);
        if (k === 1 && joiner) {
          await joiner.waitFor(ARM_ON);
          joiner.child.kill('SIGTERM');
          expect(await joiner.exited, joiner.stderr()).toBe(0);
        }
        await sleep(schedule.between(500, 1500));
      }
      running.push(start(0));
      // What was out when the last kill had landed: less than everything, or the kills were not mid-run.
      afterKills = (await committedIdCounts(brokerList, `out-${s}`)).size;
      let counts = new Map<string, number>();
      for (const until = Date.now() + DEADLINE_MS; Date.now() < until && counts.size < expected.size; await sleep(3_000)) {
        counts = await committedIdCounts(brokerList, `out-${s}`);
      }
      pausing = false;
      await pauses;
      for (const w of running) w.child.kill('SIGTERM');
      for (const w of running) expect(await w.exited, w.stderr()).toBe(0);
    } finally {
      pausing = false;
      for (const w of running) w.child.kill('SIGKILL');
      for (const d of dirs) await d.cleanup();
    }
    const counts = await committedIdCounts(brokerList, `out-${s}`);
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    const missing = [...expected.keys()].filter((id) => !counts.has(id)).length;
    // A copy fenced by one that lost its task while still starting, and started again (the race that once left a partition unread).
    const relaunched = all.reduce((n, w) => n + (w.stderr().match(/fenced while this worker still holds it/g)?.length ?? 0), 0);
    console.log(`task_per_partition exactly-once${paused ? `, broker paused ${await pauses} times` : ''}: ${kills} kills of worker 0 mid-run (${afterKills} of ${expected.size} ids out after the last), one worker joined and left, ${relaunched} copies started again after a late fence, ${counts.size} ids, ${duplicated} duplicated, ${missing} missing`);
    // The diagnosis goes into the assertion's message: CI shows the failures whole, not always the log.
    let diagnosis = '';
    if (missing > 0) {
      const parts = await missingByPartition(brokerList, `in-${s}`, counts);
      diagnosis = [...parts].map(([p, where]) => `input partition ${p}: ${where}\n${taskLines(all, `tasks-${s}-p${p}`)}`).join('\n');
      console.log(`where the missing ids were in the input, and what the workers logged about those tasks:\n${diagnosis}`);
    }
    expect({ duplicated, missing, extra: counts.size - expected.size }, diagnosis).toEqual({ duplicated: 0, missing: 0, extra: 0 });
    expect(kills).toBe(3);
    expect(afterKills).toBeLessThan(expected.size);
  });

  it('a rebalance while correlate holds events: partitions and their held events move both ways, every event exactly once, alone or inside its anchor', { timeout: 420_000 }, async () => {
    const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const expected = await seedCallTopic(brokers(), `in-${s}`, { events: 20_000, partitions: PARTITIONS, seed: 23, duplicateRatio: 0 });
    // Sessions wait 2 s for errors on their channel (emit: window): a worker always holds some.
    const yaml = `id: tasks-corr-${s}
state: { type: kafka, brokers: ${JSON.stringify(brokers())}, topic: state-${s} }
runtime: { max_in_flight_batches: 2, commit_interval: 200ms }
sources:
  raw: { type: kafka, brokers: ${JSON.stringify(brokers())}, topics: [in-${s}], group_id: tasks-corr-${s}, task_per_partition: true, max_batch_events: 20, session_timeout: 6s }
transforms:
  joined:
    type: correlate
    inputs: [raw]
    per_partition: true # the topic is keyed by id, not channel: errors join sessions of their partition
    window: 2s
    rules: [{ name: channel_errors, anchor: { kind: session }, partner: { kind: error }, anchor_key: attributes.channel, partner_key: attributes.channel, as: errors, emit: window }]
sinks:
  out: { type: kafka, inputs: [joined], brokers: ${JSON.stringify(brokers())}, topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`;
    const dirs = await Promise.all([0, 1].map(() => tmpDir('plumline-tasks-corr-')));
    for (const d of dirs) await writeFile(join(d.dir, 'p.yaml'), yaml);
    const args = ['run', 'p.yaml', '--log-level', 'info'];
    const first = startCli(args, dirs[0]!.dir);
    let second: CliProcess | undefined;
    const ids = async () => {
      const counts = new Map<string, number>();
      for (const r of await readCommitted(brokers(), [`out-${s}`])) {
        const e = JSON.parse(r.value) as CallEvent;
        for (const id of [e.id, ...((e.attributes.errors as CallEvent[] | undefined) ?? []).map((p) => p.id)]) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    };
    try {
      // The second worker joins once the first committed, and leaves (SIGTERM) once it did too:
      // half the partitions move to it and back, each time with the events held for them.
      await first.waitFor(ARM_ON);
      second = startCli(args, dirs[1]!.dir);
      await second.waitFor(ARM_ON);
      const movedIn = /"starting":\[\d/.test(second.stderr());
      await sleep(seededRandom('kafka-tasks leave').between(500, 1000));
      second.child.kill('SIGTERM');
      expect(await second.exited, second.stderr()).toBe(0);
      let counts = new Map<string, number>();
      for (const until = Date.now() + DEADLINE_MS; Date.now() < until && counts.size < expected.size; await sleep(3_000)) counts = await ids();
      first.child.kill('SIGTERM');
      expect(await first.exited, first.stderr()).toBe(0);
      counts = await ids();
      const twice = [...counts.values()].filter((n) => n > 1).length;
      const missing = [...expected.keys()].filter((id) => !counts.has(id)).length;
      const nested = (await readCommitted(brokers(), [`out-${s}`])).filter((r) => (JSON.parse(r.value) as CallEvent).attributes.errors !== undefined).length;
      console.log(`task_per_partition with correlate: second worker took partitions: ${movedIn}, ${counts.size} ids out (${nested} anchors with errors), ${twice} more than once, ${missing} missing`);
      expect(movedIn).toBe(true);
      expect(nested).toBeGreaterThan(0);
      expect({ twice, missing, unknown: [...counts.keys()].filter((id) => !expected.has(id)).length }).toEqual({ twice: 0, missing: 0, unknown: 0 });
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      for (const d of dirs) await d.cleanup();
    }
  });
});
