// The Kafka sink against a bare kafkajs producer, with each driver built here, then exactly-once
// (`node bench/kafka-sink-bench.mjs`, after `pnpm run build`; BENCH_EVENTS, BENCH_KAFKA_ROUNDS,
// BENCH_EOS_EVENTS): starts the benchmark broker, prints the rows.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exactlyOnceRows, kafkaSinkRows, withBenchBroker } from './kafka-bench.mjs';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.bench-tmp', 'kafka-sink');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const eosEvents = Number(process.env.BENCH_EOS_EVENTS ?? 300_000);
console.log((await withBenchBroker(root, async () => [...(await kafkaSinkRows(root, tmp, events)), ...(await exactlyOnceRows(root, tmp, eosEvents))])).join('\n'));
