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
