// Kafka takeover row of `pnpm bench`: how long a replacement worker (same pipeline id, same fixed
// partitions) takes from its start to output committed again, with 1,000,000 dedupe keys in the
// Kafka state topic to load first.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';

const KEYS = Number(process.env.BENCH_TAKEOVER_KEYS ?? 1_000_000);
const ROUNDS = 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs `plumline run file --once`; resolves the milliseconds until `marker` first appeared on stderr (or the exit), and the exit code. */
function timed(root, tmp, file, marker) {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', file, '--once', '--log-level', 'info'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  let atMs;
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (atMs === undefined && err.includes(marker)) atMs = performance.now() - started;
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve({ ms: atMs ?? performance.now() - started, totalMs: performance.now() - started }) : reject(new Error(`${file} exited ${code}: ${err.slice(-2000)}`)))),
  );
}

async function produce(broker, topic, from, count) {
  const producer = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).producer();
  await producer.connect();
  for (let i = from; i < from + count; i += 5000) {
    const n = Math.min(5000, from + count - i);
    await producer.send({ topic, messages: Array.from({ length: n }, (_, j) => ({ key: `k${i + j}`, value: JSON.stringify({ id: `k${i + j}`, source: 'bench', kind: 'call', time: '2026-01-01T00:00:00.000Z', attributes: {} }) })) });
  }
  await producer.disconnect();
}

export async function kafkaTakeoverRows(root, tmp, broker) {
  const topic = 'bench-takeover-in';
  const admin = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  console.log(`kafka takeover: seeding ${KEYS} events…`);
  await produce(broker, topic, 0, KEYS);
  const file = join(tmp, 'takeover.yaml');
  writeFileSync(
    file,
    `id: bench-takeover
state: { type: kafka, brokers: ["${broker}"], topic: bench-takeover-state }
sources:
  in: { type: kafka, brokers: ["${broker}"], topics: [${topic}], group_id: bench-takeover, keyed_by: [id], partitions: [0, 1], stop_at_end: true }
transforms:
  u: { type: dedupe, inputs: [in], max_keys: ${KEYS * 2} }
sinks:
  out: { type: kafka, inputs: [u], brokers: ["${broker}"], topic: bench-takeover-out, exactly_once: true, create_topics: { partitions: 2 } }
`,
  );
  console.log('kafka takeover: first worker, building the dedupe state…');
  const first = await timed(root, tmp, file, 'pipeline finished');
  const starts = [];
  for (let round = 0; round < ROUNDS; round++) {
    await produce(broker, topic, KEYS + round * 1000, 1000);
    console.log(`kafka takeover: replacement ${round + 1}…`);
    starts.push(await timed(root, tmp, file, 'first checkpoint committed'));
  }
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `| replacement worker (same id and partitions), ${KEYS.toLocaleString('en-US')} dedupe keys in the Kafka state topic: start to new output committed (median of ${ROUNDS}; range ${s(Math.min(...starts.map((x) => x.ms)))}–${s(Math.max(...starts.map((x) => x.ms)))}) | ${s(median(starts.map((x) => x.ms)))} | — | building the state took ${s(first.totalMs)} | (reported) |`,
  ];
}

/** Starts `plumline run file` (a daemon); `seen(marker, n)` resolves the ms from `fromMs` until `marker` appeared n times on stderr. */
function daemon(root, tmp, file) {
  const child = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', file, '--log-level', 'info'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const waiters = [];
  child.stderr.on('data', (d) => {
    err += d;
    for (const w of waiters.splice(0)) if (!w.check()) waiters.push(w);
  });
  const count = (marker) => err.split(marker).length - 1;
  return {
    child,
    seen: (marker, n, fromMs) =>
      new Promise((resolve) => {
        const w = { check: () => count(marker) >= n && (resolve(performance.now() - fromMs), true) };
        if (!w.check()) waiters.push(w);
      }),
  };
}

/** Resolves once the group's committed offsets reached the end of every partition of `topic`. */
async function caughtUp(broker, group, topic) {
  const admin = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    for (;;) {
      // The group's coordinator may not be ready yet (NOT_COORDINATOR_FOR_GROUP): ask again.
      const done = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]).then(
        ([ends, [committed]]) => ends.every((e) => committed.partitions.find((p) => p.partition === e.partition)?.offset === e.high),
        () => false,
      );
      if (done) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Rebalance time with a task per partition: a worker holding both partitions of a topic, each
 * with KEYS dedupe keys in the state topic, is killed (SIGKILL) and a new one started at once;
 * measured from the kill to new output committed for both partitions (the group notices the
 * death after session_timeout, then each task loads its state).
 */
export async function kafkaTaskTakeoverRows(root, tmp, broker) {
  const topic = 'bench-tasks-in';
  const admin = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  console.log(`kafka task takeover: seeding ${2 * KEYS} events…`);
  await produce(broker, topic, 0, 2 * KEYS);
  const sessionTimeoutS = 6;
  const file = join(tmp, 'task-takeover.yaml');
  writeFileSync(
    file,
    `id: bench-tasks
state: { type: kafka, brokers: ["${broker}"], topic: bench-tasks-state }
sources:
  in: { type: kafka, brokers: ["${broker}"], topics: [${topic}], group_id: bench-tasks, keyed_by: [id], task_per_partition: true, session_timeout: ${sessionTimeoutS}s }
transforms:
  u: { type: dedupe, inputs: [in], max_keys: ${KEYS * 2} }
sinks:
  out: { type: kafka, inputs: [u], brokers: ["${broker}"], topic: bench-tasks-out, exactly_once: true, create_topics: { partitions: 2 } }
`,
  );
  console.log('kafka task takeover: first worker, building the dedupe state…');
  const buildStart = performance.now();
  let worker = daemon(root, tmp, file);
  await caughtUp(broker, 'bench-tasks', topic);
  const buildMs = performance.now() - buildStart;
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`kafka task takeover: kill and replace ${round + 1}…`);
    const killedAt = performance.now();
    worker.child.kill('SIGKILL');
    worker = daemon(root, tmp, file);
    await produce(broker, topic, 2 * KEYS + round * 1000, 1000);
    times.push(await worker.seen('first checkpoint committed', 2, killedAt));
  }
  worker.child.kill('SIGTERM');
  await new Promise((r) => worker.child.on('exit', r));
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `| task_per_partition: a worker holding both tasks (${KEYS.toLocaleString('en-US')} dedupe keys each in the state topic) killed, a new one started at once: kill to new output committed for both (session_timeout ${sessionTimeoutS}s; median of ${ROUNDS}; range ${s(Math.min(...times))}–${s(Math.max(...times))}) | ${s(median(times))} | — | building the state took ${s(buildMs)} | (reported) |`,
  ];
}
