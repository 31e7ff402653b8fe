// The Kafka rows alone (`node bench/kafka-only.mjs`, after `pnpm run build`): prints the rows for BENCHMARKS.md.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaBench } from './kafka-bench.mjs';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.bench-tmp', 'kafka');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const rows = await kafkaBench(root, tmp, Number(process.env.BENCH_EVENTS ?? 1_000_000));
console.log(rows.join('\n'));
