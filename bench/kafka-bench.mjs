// Kafka rows of `pnpm bench`: the sink against a bare kafkajs producer on a real broker, and exactly-once.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
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
async function exactlyOnceRows(root, tmp, events) {
  const runs = { bare: [], eos: [], dedupe: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const topic = (name) => `bench-${name}-${round}`;
    const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: ['bare-tx', 'eos', 'eos-dedupe'].map((t) => ({ topic: topic(t), numPartitions: 3 })) });
    await admin.disconnect();
    console.log(`kafka: exactly-once round ${round + 1}…`);
    runs.bare.push(child(root, tmp, [join(root, 'bench/bare-kafkajs.mjs'), BROKER, topic('bare-tx'), String(events), 'transactional']));
    for (const [key, transforms, input] of [['eos', '', 'gen'], ['dedupe', 'transforms:\n  u: { type: dedupe, inputs: [gen] }\n', 'u']]) {
      const file = join(tmp, `eos-${key}-${round}.yaml`);
      writeFileSync(file, `id: bench-eos-${key}-${round}\nstate: { type: kafka, brokers: ["${BROKER}"], topic: bench-state }\nsources:\n  gen: { type: generate, count: ${events}, batch_size: 1000 }\n${transforms}sinks:\n  kafka: { type: kafka, inputs: [${input}], brokers: ["${BROKER}"], topic: ${topic(key === 'eos' ? 'eos' : 'eos-dedupe')}, exactly_once: true }\n`);
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
    `| bare kafkajs transactional producer, one transaction per batch of 1,000 (median of ${ROUNDS}; range ${Math.min(...bareRates).toLocaleString('en-US')}–${Math.max(...bareRates).toLocaleString('en-US')}) | ${median(bareRates).toLocaleString('en-US')} | ${mb(median(runs.bare.map((r) => r.maxRssBytes)))} | 1.00 | the ceiling for exactly-once |`,
  ];
}

export async function kafkaBench(root, tmp, events) {
  const env = { ...process.env, KAFKA_PORT: String(PORT) };
  try {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'up'], { env, stdio: 'inherit' });
  } catch {
    return ['| Kafka rows skipped: the broker did not start (needs a JDK 17+ and Maven) | | | | |'];
  }
  try {
    const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: ['bench-bare', 'bench-sink'].map((topic) => ({ topic, numPartitions: 3 })) });
    await admin.disconnect();
    console.log('kafka: bare kafkajs…');
    const bare = child(root, tmp, [join(root, 'bench/bare-kafkajs.mjs'), BROKER, 'bench-bare', String(events)]);
    writeFileSync(join(tmp, 'kafka.yaml'), `sources:\n  gen: { type: generate, count: ${events}, batch_size: 1000 }\nsinks:\n  kafka: { type: kafka, inputs: [gen], brokers: ["${BROKER}"], topic: bench-sink }\n`);
    console.log('kafka: sink…');
    const sink = child(root, tmp, [join(root, 'bench/run-pipeline.mjs'), join(tmp, 'kafka.yaml'), String(events)], { BENCH_STATE: 'memory' });
    const eos = await exactlyOnceRows(root, tmp, Math.min(events, EOS_EVENTS));
    const source = await kafkaSourceRows(root, tmp, BROKER);
    const takeover = await kafkaTakeoverRows(root, tmp, BROKER);
    const taskTakeover = await kafkaTaskTakeoverRows(root, tmp, BROKER);
    const rate = (r) => Math.round(events / (r.ms / 1000));
    const ratio = rate(sink) / rate(bare);
    const mb = (b) => `${Math.round(b / 2 ** 20)} MB`;
    return [
      `| generate → kafka sink (idempotent, acks=all, batches of 1,000) | ${rate(sink).toLocaleString('en-US')} | ${mb(sink.maxRssBytes)} | ${ratio.toFixed(2)} of bare kafkajs | ≥ 0.9 of bare kafkajs: ${ratio >= 0.9 ? 'met' : '**not met**'} |`,
      `| bare kafkajs producer, same events and settings | ${rate(bare).toLocaleString('en-US')} | ${mb(bare.maxRssBytes)} | 1.00 | the ceiling |`,
      ...eos,
      ...source,
      ...takeover,
      ...taskTakeover,
    ];
  } finally {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'down'], { env, stdio: 'inherit' });
  }
}
