// Kafka rows of `pnpm bench`: the sink against a bare kafkajs producer on a real broker, and exactly-once.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';

const PORT = 29092;
const BROKER = `127.0.0.1:${PORT}`;

function child(root, tmp, args, env = {}) {
  const r = spawnSync(process.execPath, args, { cwd: tmp, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
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
    await admin.createTopics({ waitForLeaders: true, topics: ['bench-bare', 'bench-sink', 'bench-eos'].map((topic) => ({ topic, numPartitions: 3 })) });
    await admin.disconnect();
    console.log('kafka: bare kafkajs…');
    const bare = child(root, tmp, [join(root, 'bench/bare-kafkajs.mjs'), BROKER, 'bench-bare', String(events)]);
    writeFileSync(join(tmp, 'kafka.yaml'), `sources:\n  gen: { type: generate, count: ${events}, batch_size: 1000 }\nsinks:\n  kafka: { type: kafka, inputs: [gen], brokers: ["${BROKER}"], topic: bench-sink }\n`);
    console.log('kafka: sink…');
    const sink = child(root, tmp, [join(root, 'bench/run-pipeline.mjs'), join(tmp, 'kafka.yaml'), String(events)], { BENCH_STATE: 'memory' });
    writeFileSync(
      join(tmp, 'eos.yaml'),
      `id: bench-eos\nstate: { type: kafka, brokers: ["${BROKER}"], topic: bench-state }\nsources:\n  gen: { type: generate, count: ${events}, batch_size: 1000 }\nsinks:\n  kafka: { type: kafka, inputs: [gen], brokers: ["${BROKER}"], topic: bench-eos, exactly_once: true, state_topic: bench-state }\n`,
    );
    console.log('kafka: exactly-once…');
    const eos = child(root, tmp, [join(root, 'bench/run-pipeline.mjs'), join(tmp, 'eos.yaml'), String(events)]);
    const rate = (r) => Math.round(events / (r.ms / 1000));
    const ratio = rate(sink) / rate(bare);
    const mb = (b) => `${Math.round(b / 2 ** 20)} MB`;
    return [
      `| generate → kafka sink (idempotent, acks=all, batches of 1,000) | ${rate(sink).toLocaleString('en-US')} | ${mb(sink.maxRssBytes)} | ${ratio.toFixed(2)} of bare kafkajs | ≥ 0.9 of bare kafkajs: ${ratio >= 0.9 ? 'met' : '**not met**'} |`,
      `| bare kafkajs producer, same events and settings | ${rate(bare).toLocaleString('en-US')} | ${mb(bare.maxRssBytes)} | 1.00 | the ceiling |`,
      `| generate → kafka sink, exactly_once (one transaction per batch, with the checkpoint) | ${rate(eos).toLocaleString('en-US')} | ${mb(eos.maxRssBytes)} | ${(rate(eos) / rate(bare)).toFixed(2)} of bare kafkajs | (reported) |`,
    ];
  } finally {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'down'], { env, stdio: 'inherit' });
  }
}
