// The Kafka sink against a bare kafkajs producer alone (`node bench/kafka-sink-bench.mjs`, after
// `pnpm run build`; BENCH_EVENTS, BENCH_KAFKA_ROUNDS): starts the benchmark broker, prints the rows.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaSinkRows, withBenchBroker } from './kafka-bench.mjs';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.bench-tmp', 'kafka-sink');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
console.log((await withBenchBroker(root, () => kafkaSinkRows(root, tmp, events))).join('\n'));
