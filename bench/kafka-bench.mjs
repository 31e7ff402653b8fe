// Kafka rows of `pnpm bench`: the sink against a bare kafkajs producer on a real broker, and exactly-once.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { confluentDriverAvailable } from '@plumline/kafka-client';
import { kafkaSourceRows } from './kafka-source-bench.mjs';
import { kafkaTakeoverRows, kafkaTaskTakeoverRows } from './kafka-takeover-bench.mjs';

const PORT = 29092;
const BROKER = `127.0.0.1:${PORT}`;

function child(root, tmp, args, env = {}) {
  const r = spawnSync(process.execPath, args, { cwd: tmp, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
}

/** Events per exactly-once run: three rounds of three runs each. */
const EOS_EVENTS = Number(process.env.BENCH_EOS_EVENTS ?? 300_000);
const ROUNDS = 3;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Exactly-once against its ceiling, a bare kafkajs transactional producer (one transaction per
 * batch of 1,000), interleaved: each round runs the bare producer, the sink, and the sink behind
 * dedupe (whose keys go into each transaction too), so the VM's drift hits all three alike.
 */
export async function exactlyOnceRows(root, tmp, events) {
  const confluent = confluentDriverAvailable();
  const runs = { bare: [], eos: [], dedupe: [], confluent: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const topic = (name) => `bench-${name}-${round}`;
    const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: ['bare-tx', 'eos', 'eos-dedupe', 'eos-confluent'].map((t) => ({ topic: topic(t), numPartitions: 3 })) });
    await admin.disconnect();
    console.log(`kafka: exactly-once round ${round + 1}…`);
    runs.bare.push(child(root, tmp, [join(root, 'bench/bare-kafkajs.mjs'), BROKER, topic('bare-tx'), String(events), 'transactional']));
    const variants = [['eos', '', 'gen', 'kafkajs'], ['dedupe', 'transforms:\n  u: { type: dedupe, inputs: [gen] }\n', 'u', 'kafkajs'], ...(confluent ? [['confluent', '', 'gen', 'confluent']] : [])];
    for (const [key, transforms, input, driver] of variants) {
      const file = join(tmp, `eos-${key}-${round}.yaml`);
      writeFileSync(file, `id: bench-eos-${key}-${round}\nstate: { type: kafka, brokers: ["${BROKER}"], topic: bench-state, driver: ${driver} }\nsources:\n  gen: { type: generate, count: ${events}, batch_size: 1000 }\n${transforms}sinks:\n  kafka: { type: kafka, inputs: [${input}], brokers: ["${BROKER}"], topic: ${topic(key === 'eos' ? 'eos' : `eos-${key}`)}, exactly_once: true, driver: ${driver} }\n`);
      runs[key].push(child(root, tmp, [join(root, 'bench/run-pipeline.mjs'), file, String(events)]));
    }
  }
  const rate = (r) => Math.round(events / (r.ms / 1000));
  const mb = (b) => `${Math.round(b / 2 ** 20)} MB`;
  const bareRates = runs.bare.map(rate);
  const row = (label, list) => {
    const ratios = list.map((r, i) => rate(r) / bareRates[i]);
    const mid = median(ratios);
    const rates = list.map(rate);
    return `| ${label} (${events.toLocaleString('en-US')} events, median of ${ROUNDS} interleaved rounds) | ${median(rates).toLocaleString('en-US')} | ${mb(median(list.map((r) => r.maxRssBytes)))} | ${mid.toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) of bare transactional kafkajs | ≥ 0.7: ${mid >= 0.7 ? 'met' : '**not met**'} |`;
  };
  return [
    row('generate → kafka sink, exactly_once (records, checkpoints: one transaction per group of batches)', runs.eos),
    row('generate → dedupe → kafka sink, exactly_once (its keys in the same transaction)', runs.dedupe),
    ...(confluent ? [row('generate → kafka sink, exactly_once, driver confluent (sink and state store)', runs.confluent)] : []),
    `| bare kafkajs transactional producer, one transaction per batch of 1,000 (median of ${ROUNDS}; range ${Math.min(...bareRates).toLocaleString('en-US')}–${Math.max(...bareRates).toLocaleString('en-US')}) | ${median(bareRates).toLocaleString('en-US')} | ${mb(median(runs.bare.map((r) => r.maxRssBytes)))} | 1.00 | the ceiling for exactly-once |`,
  ];
}

/** Runs of the sink against the bare producer, alternating, so the VM's drift hits both alike. */
const SINK_ROUNDS = Number(process.env.BENCH_KAFKA_ROUNDS ?? 5);

/**
 * generate → kafka sink against a bare kafkajs producer with the same settings (idempotent,
 * acks=all, batches of 1,000), interleaved; topics of 3 partitions, created per round. Expects
 * the broker up. Medians, with the ranges of the per-round ratios and of peak RSS.
 */
export async function kafkaSinkRows(root, tmp, events) {
  const drivers = confluentDriverAvailable() ? ['kafkajs', 'confluent'] : ['kafkajs'];
  const runs = { bare: [], kafkajs: [], confluent: [] };
  for (let round = 0; round < SINK_ROUNDS; round++) {
    const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: ['bare', ...drivers].map((t) => ({ topic: `bench-${t}-${round}`, numPartitions: 3 })) });
    await admin.disconnect();
    console.log(`kafka: sink (${drivers.join(', ')}) against bare kafkajs, round ${round + 1} of ${SINK_ROUNDS}…`);
    runs.bare.push(child(root, tmp, [join(root, 'bench/bare-kafkajs.mjs'), BROKER, `bench-bare-${round}`, String(events)]));
    for (const driver of drivers) {
      const file = join(tmp, `kafka-${driver}-${round}.yaml`);
      writeFileSync(file, `sources:\n  gen: { type: generate, count: ${events}, batch_size: 1000 }\nsinks:\n  kafka: { type: kafka, inputs: [gen], brokers: ["${BROKER}"], topic: bench-${driver}-${round}, driver: ${driver} }\n`);
      runs[driver].push(child(root, tmp, [join(root, 'bench/run-pipeline.mjs'), file, String(events)], { BENCH_STATE: 'memory' }));
    }
  }
  const rate = (r) => Math.round(events / (r.ms / 1000));
  const mb = (b) => `${Math.round(b / 2 ** 20)} MB`;
  const rss = (list) => list.map((r) => r.maxRssBytes);
  const span = (xs, f) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const sinkRow = (driver) => {
    const ratios = runs[driver].map((r, i) => rate(r) / rate(runs.bare[i]));
    const ratio = median(ratios);
    const sinkRss = median(rss(runs[driver]));
    const againstKafkajs = driver === 'kafkajs' ? '' : (() => {
      const own = runs[driver].map((r, i) => rate(r) / rate(runs.kafkajs[i]));
      return `; ${median(own).toFixed(2)}× (${span(own, (x) => x.toFixed(2))}) the kafkajs sink, ≥ 1.3: ${median(own) >= 1.3 ? 'met' : '**not met**'}`;
    })();
    return `| generate → kafka sink, driver ${driver} (idempotent, acks=all, batches of 1,000; ${events.toLocaleString('en-US')} events, median of ${SINK_ROUNDS} interleaved rounds) | ${median(runs[driver].map(rate)).toLocaleString('en-US')} | ${mb(sinkRss)} (${span(rss(runs[driver]), mb)}) | ${ratio.toFixed(2)} (${span(ratios, (x) => x.toFixed(2))}) of bare kafkajs | ≥ 1.0 of bare kafkajs, RSS < 150 MB: ${ratio >= 1 && sinkRss < 150 * 2 ** 20 ? 'met' : '**not met**'}${againstKafkajs} |`;
  };
  return [
    ...drivers.map(sinkRow),
    ...(drivers.includes('confluent') ? [] : ['| generate → kafka sink, driver confluent | | | | not measured: @confluentinc/kafka-javascript is not built here (`pnpm run build:confluent`) |']),
    `| bare kafkajs producer, same events and settings | ${median(runs.bare.map(rate)).toLocaleString('en-US')} | ${mb(median(rss(runs.bare)))} (${span(rss(runs.bare), mb)}) | 1.00 | the ceiling |`,
  ];
}

/** Starts the benchmark broker, runs `rows()`, stops the broker; one row saying why when it cannot start. */
export async function withBenchBroker(root, rows) {
  const env = { ...process.env, KAFKA_PORT: String(PORT) };
  try {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'up'], { env, stdio: 'inherit' });
  } catch {
    return ['| Kafka rows skipped: the broker did not start (needs a JDK 17+ and Maven) | | | | |'];
  }
  try {
    return await rows();
  } finally {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'down'], { env, stdio: 'inherit' });
  }
}

export async function kafkaBench(root, tmp, events) {
  return withBenchBroker(root, async () => [
    ...(await kafkaSinkRows(root, tmp, events)),
    ...(await exactlyOnceRows(root, tmp, Math.min(events, EOS_EVENTS))),
    ...(await kafkaSourceRows(root, tmp, BROKER)),
    ...(await kafkaTakeoverRows(root, tmp, BROKER)),
    ...(await kafkaTaskTakeoverRows(root, tmp, BROKER)),
  ]);
}
