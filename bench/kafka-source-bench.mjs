// Kafka source rows of `pnpm bench`: a 6-partition topic read by 1 and by 2 workers of one group
// (each its own process, as they would run), into blackhole; and into dedupe → kafka exactly_once,
// by 1 worker and by 2 with three fixed partitions each.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';

const PARTITIONS = 6;
const ROUNDS = 3;
/** Records in the input topic: enough that reading, not joining the group, dominates the time. */
const SOURCE_EVENTS = Number(process.env.BENCH_SOURCE_EVENTS ?? 1_000_000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mb = (b) => `${Math.round(b / 2 ** 20)} MB`;

/** Runs one pipeline file per worker at once; resolves with the wall time until the last ended and each worker's report. */
function workers(root, tmp, files, env = {}) {
  const started = performance.now();
  return Promise.all(
    files.map(
      (file) =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [join(root, 'bench/run-pipeline.mjs'), file, '0'], { cwd: tmp, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${file} exited ${code}`))));
        }),
    ),
  ).then((reports) => ({ wallMs: performance.now() - started, reports }));
}

/** Writes `events` generated calls to a new topic with plumline's own sink (the fastest producer we have here). */
async function seed(root, tmp, broker, topic, events) {
  const admin = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const file = join(tmp, `seed-${topic}.yaml`);
  writeFileSync(file, `sources:\n  gen: { type: generate, count: ${events}, batch_size: 1000, duplicate_ratio: 0.1 }\nsinks:\n  kafka: { type: kafka, inputs: [gen], brokers: ["${broker}"], topic: ${topic} }\n`);
  await workers(root, tmp, [file], { BENCH_STATE: 'memory' });
}

export async function kafkaSourceRows(root, tmp, broker) {
  const events = SOURCE_EVENTS;
  const topic = 'bench-source-in';
  console.log(`kafka source: seeding ${events} events…`);
  await seed(root, tmp, broker, topic, events);
  const runs = { one: [], two: [], eos: [], eos2: [] };
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`kafka source: round ${round + 1}…`);
    const source = (group) => `{ type: kafka, brokers: ["${broker}"], topics: [${topic}], group_id: ${group}, keyed_by: [id], stop_at_end: true }`;
    const blackhole = (name, group) => {
      const file = join(tmp, `${name}.yaml`);
      writeFileSync(file, `sources:\n  in: ${source(group)}\nsinks:\n  out: { type: blackhole, inputs: [in] }\n`);
      return file;
    };
    runs.one.push(await workers(root, tmp, [blackhole(`one-${round}`, `bench-one-${round}`)], { BENCH_STATE: 'memory' }));
    runs.two.push(await workers(root, tmp, [blackhole(`two-a-${round}`, `bench-two-${round}`), blackhole(`two-b-${round}`, `bench-two-${round}`)], { BENCH_STATE: 'memory' }));
    const eos = join(tmp, `src-eos-${round}.yaml`);
    writeFileSync(eos, `id: bench-src-eos-${round}\nstate: { type: kafka, brokers: ["${broker}"], topic: bench-state }\nsources:\n  in: ${source(`bench-eos-${round}`)}\ntransforms:\n  u: { type: dedupe, inputs: [in] }\nsinks:\n  out: { type: kafka, inputs: [u], brokers: ["${broker}"], topic: bench-source-out-${round}, exactly_once: true, create_topics: { partitions: ${PARTITIONS} } }\n`);
    runs.eos.push(await workers(root, tmp, [eos]));
    // Two exactly-once workers: each its own id and three of the partitions (fixed, so both can end at the topic's end).
    const half = (w, partitions) => {
      const file = join(tmp, `src-eos2-${w}-${round}.yaml`);
      writeFileSync(file, `id: bench-src-eos2-${w}-${round}\nstate: { type: kafka, brokers: ["${broker}"], topic: bench-state }\nsources:\n  in: { type: kafka, brokers: ["${broker}"], topics: [${topic}], group_id: bench-eos2-${round}, keyed_by: [id], partitions: [${partitions}], stop_at_end: true }\ntransforms:\n  u: { type: dedupe, inputs: [in] }\nsinks:\n  out: { type: kafka, inputs: [u], brokers: ["${broker}"], topic: bench-source-out2-${round}, exactly_once: true, create_topics: { partitions: ${PARTITIONS} } }\n`);
      return file;
    };
    runs.eos2.push(await workers(root, tmp, [half('a', '0, 1, 2'), half('b', '3, 4, 5')]));
  }
  const rates = (list) => list.map((r) => events / (r.wallMs / 1000));
  const one = rates(runs.one);
  const two = rates(runs.two);
  const ratios = two.map((r, i) => r / one[i]);
  const rss = (list) => mb(median(list.flatMap((r) => r.reports.map((x) => x.maxRssBytes))));
  const range = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  return [
    `| kafka source (${PARTITIONS} partitions) → blackhole, 1 worker (${events.toLocaleString('en-US')} events, median of ${ROUNDS} interleaved rounds; range ${range(one)}) | ${fmt(median(one))} | ${rss(runs.one)} | 1.00 | reference |`,
    `| kafka source → blackhole, 2 workers of one group, two processes (wall time until both ended; range ${range(two)}) | ${fmt(median(two))} | ${rss(runs.two)} each | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) of 1 worker | (reported) |`,
    `| kafka source → dedupe → kafka sink exactly_once, 1 worker (range ${range(rates(runs.eos))}) | ${fmt(median(rates(runs.eos)))} | ${rss(runs.eos)} | ${(median(rates(runs.eos)) / median(one)).toFixed(2)} of → blackhole | (reported) |`,
    `| kafka source → dedupe → kafka sink exactly_once, 2 workers (3 fixed partitions and an id each; wall time until both ended; range ${range(rates(runs.eos2))}) | ${fmt(median(rates(runs.eos2)))} | ${rss(runs.eos2)} each | ${(median(rates(runs.eos2)) / median(rates(runs.eos))).toFixed(2)} of 1 worker | (reported) |`,
  ];
}
