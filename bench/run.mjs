// `pnpm bench`: runs every benchmark once on this machine and rewrites BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeFileSync, readFileSync, closeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { makeInput } from './make-input.mjs';
import { plumBench } from './plum-bench.mjs';
import { iplumBench } from './iplum-bench.mjs';
import { httpBench } from './http-bench.mjs';
import { kafkaBench } from './kafka-bench.mjs';
import { operatorsBench, PAIRS } from './operators-bench.mjs';
import { compareBench, mapDedupeFile } from './compare-bench.mjs';
import { profileChain } from './profile-chain.mjs';
import { chainBench, ROUNDS as CHAIN_ROUNDS } from './chain-bench.mjs';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.bench-tmp');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

function child(args, stdinPath, env = {}) {
  const stdin = stdinPath ? openSync(stdinPath, 'r') : 'ignore';
  const r = spawnSync(process.execPath, args, { cwd: tmp, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (typeof stdin === 'number') closeSync(stdin);
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
}

const rows = [];
const mb = (b) => `${Math.round(b / 1024 / 1024)} MB`;
const rate = (n, ms) => Math.round(n / (ms / 1000));

console.log(`generating ${EVENTS} input events…`);
const input = join(tmp, 'input.ndjson');
await makeInput(input, EVENTS);

// (a) stdin → map → dedupe → file, beside the hand-written loop.
writeFileSync(join(tmp, 'a.yaml'), mapDedupeFile('a'));
console.log('(a) baseline…');
const base = child([join(root, 'bench/baseline.mjs'), join(tmp, 'out-base.ndjson')], input);
console.log('(a) plumline…');
const a = child([join(root, 'bench/run-pipeline.mjs'), join(tmp, 'a.yaml'), String(EVENTS)], input);
const baseLines = readFileSync(join(tmp, 'out-base.ndjson'), 'utf8').split('\n').filter(Boolean).length;
const aLines = readFileSync(join(tmp, 'out-a.ndjson'), 'utf8').split('\n').filter(Boolean).length;
if (a.stats.out.eventsOut !== aLines) throw new Error(`(a) wrote ${aLines} lines but counted ${a.stats.out.eventsOut}`);
if (baseLines !== aLines) throw new Error(`outputs differ: baseline ${baseLines} lines, plumline ${aLines}`);
const ratioA = rate(EVENTS, a.ms) / rate(EVENTS, base.ms);

// (b) the engine alone.
writeFileSync(
  join(tmp, 'b.yaml'),
  `sources:
  gen: { type: generate, count: ${EVENTS}, batch_size: 1000 }
transforms:
  m: { type: map, inputs: [gen], set: { attributes.pipeline: bench } }
  f: { type: filter, inputs: [m], where: { durationSec: { gte: 0 } } }
sinks:
  out: { type: blackhole, inputs: [f] }
`,
);
console.log('(b) engine alone…');
// In-memory state: each run starts from the beginning instead of resuming the previous run's checkpoint.
const bRuns = [0, 1, 2, 3, 4].map(() => child([join(root, 'bench/run-pipeline.mjs'), join(tmp, 'b.yaml'), String(EVENTS)], undefined, { BENCH_STATE: 'memory' }));
for (const r of bRuns) if (r.stats.out.eventsIn !== EVENTS) throw new Error(`(b) delivered ${r.stats.out.eventsIn} events, expected ${EVENTS}`);
bRuns.sort((x, y) => x.ms - y.ms);
const b = bRuns[2];
// The same source into the same sink with no operators: what generation and the runtime cost alone.
writeFileSync(join(tmp, 'b0.yaml'), `sources:\n  gen: { type: generate, count: ${EVENTS}, batch_size: 1000 }\nsinks:\n  out: { type: blackhole, inputs: [gen] }\n`);
const b0Runs = [0, 1, 2, 3, 4].map(() => child([join(root, 'bench/run-pipeline.mjs'), join(tmp, 'b0.yaml'), String(EVENTS)], undefined, { BENCH_STATE: 'memory' }));
b0Runs.sort((x, y) => x.ms - y.ms);
const b0 = b0Runs[2];
const operatorNs = (b.ms - b0.ms) * 1e6 / EVENTS;
const bRange = `${rate(EVENTS, bRuns[4].ms).toLocaleString('en-US')}–${rate(EVENTS, bRuns[0].ms).toLocaleString('en-US')}`;

// (c) dedupe holding 10 million distinct keys.
const KEYS = Number(process.env.BENCH_DEDUPE_KEYS ?? 10_000_000);
writeFileSync(
  join(tmp, 'c.yaml'),
  `sources:
  gen: { type: generate, count: ${KEYS}, batch_size: 2000 }
transforms:
  d: { type: dedupe, inputs: [gen], key: [id], max_keys: ${KEYS}, persist: false }
sinks:
  out: { type: blackhole, inputs: [d] }
`,
);
console.log('(c) dedupe with 10M keys…');
const c = child([join(root, 'bench/run-pipeline.mjs'), join(tmp, 'c.yaml'), String(KEYS)], undefined, { BENCH_STATE: 'memory' });
if (c.stats.out.eventsIn !== KEYS) throw new Error(`(c) passed ${c.stats.out.eventsIn} events, expected ${KEYS}`);

const operatorRows = await operatorsBench(root, tmp, input, EVENTS);
const chainRows = (await chainBench(root, tmp, EVENTS, Number(process.env.BENCH_EVENTS_A ?? 300_000))).rows;
const compareRows = await compareBench(root, tmp, input, EVENTS);
const profileRows = await profileChain(root, tmp, input, EVENTS);
const plumRows = await plumBench(root, tmp);
const iplumRows = await iplumBench(root, tmp);
const httpRows = await httpBench(root, tmp);
const kafkaRows = await kafkaBench(root, tmp, EVENTS);

const verdict = (ok) => (ok ? 'met' : '**not met**');
rows.push(
  `| (a) stdin → map → dedupe → file (fsync per group) | ${rate(EVENTS, a.ms).toLocaleString('en-US')} | ${mb(a.maxRssBytes)} | ${ratioA.toFixed(2)} of hand-written | ≥ 0.6 of hand-written, RSS < 300 MB: ${verdict(ratioA >= 0.6 && a.maxRssBytes < 300 * 2 ** 20)} |`,
  `| (a) hand-written single loop (no fsync) | ${rate(EVENTS, base.ms).toLocaleString('en-US')} | ${mb(base.maxRssBytes)} | 1.00 | the ceiling |`,
  `| (b0) generate → blackhole, no operators (median of 5) | ${rate(EVENTS, b0.ms).toLocaleString('en-US')} | ${mb(b0.maxRssBytes)} | ${(1e9 / rate(EVENTS, b0.ms)).toFixed(0)} ns/event | reference for (b): map + filter add ${operatorNs.toFixed(0)} ns/event |`,
  `| (c) generate → dedupe (${KEYS.toLocaleString('en-US')} distinct keys held) → blackhole | ${rate(KEYS, c.ms).toLocaleString('en-US')} | ${mb(c.maxRssBytes)} | whole process | ${KEYS.toLocaleString('en-US')} keys < 500 MB: ${verdict(c.maxRssBytes < 500 * 2 ** 20)} |`,
  `| (b) generate → map → filter → blackhole (median of 5; range ${bRange}) | ${rate(EVENTS, b.ms).toLocaleString('en-US')} | ${mb(b.maxRssBytes)} | ${(1e9 / rate(EVENTS, b.ms)).toFixed(0)} ns/event | ≥ 2,000,000 events/s, RSS < 300 MB: ${verdict(rate(EVENTS, b.ms) >= 2e6 && b.maxRssBytes < 300 * 2 ** 20)} |`,
);

const cpu = cpus()[0]?.model ?? 'unknown';
const md = `# Benchmarks

Measured by \`pnpm bench\` (bench/run.mjs): one run, ${EVENTS.toLocaleString('en-US')} events, each
measurement in its own Node process (peak RSS is that process's \`maxRSS\`). On the shared 2-core
cloud VM we develop on, the same code gave (b) medians from 1.3 to 2.3 million events/s and (a)
ratios from 0.72 to 1.00 across runs of one afternoon: read one run as one sample.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${process.platform} ${process.arch}
- Node.js ${process.version}

| benchmark | events/s | peak RSS | relative | target |
|---|---:|---:|---|---|
${rows.join('\n')}

## Call operators (same input as (a), each run in its own process)

Each row ran ${PAIRS} times, each time right after a run of (d0), because the VM's speed drifts
within minutes: "relative" is the median of those pairs' ratios (range in brackets), events/s and
RSS are the median run's. The (d0) row is the median of all its runs.

| benchmark | events/s | peak RSS | written | relative | target |
|---|---:|---:|---:|---|---|
${operatorRows.join('\n')}

## The operator rows against hand-written programs (bench/chain-bench.mjs, Node 20 and 24)

bench/hand-chain.mjs does by hand what (d0) and (d4) do — the same libphonenumber-js and HMAC
calls, the same correlate rule and eviction, plumline's batch order — and its output is compared
byte for byte with plumline's in every run. ${CHAIN_ROUNDS} rounds, each running every (runtime, input,
program) once in a fresh process; ratios within a round, medians (range). Target: ≥ 0.9 for both.

${chainRows.join('\n')}

## Where the full chain's time goes (CPU profile of (d4), bench/profile-chain.mjs)

${profileRows.join('\n')}

## Beside a hand-written loop and Redpanda Connect (stdin → map → dedupe → file, whole processes)

${compareRows.join('\n')}

## Sources

| benchmark | events/s | peak RSS | requests | target |
|---|---:|---:|---|---|
${plumRows.join('\n')}
${httpRows.join('\n')}
${iplumRows.join('\n')}

## Kafka (a real single-node broker from scripts/kafka.sh, on the same machine)

| benchmark | events/s | peak RSS | relative | target |
|---|---:|---:|---|---|
${kafkaRows.join('\n')}

Notes
- Kafka rows: ${EVENTS.toLocaleString('en-US')} events, topics of 3 partitions; the broker (768 MB heap) shares the 2 cores.
- Plum rows: the emulator runs in the benchmark's process, the pipeline in a child process, on
  the same 2 cores. A call needs its own \`calls/log/{id}\` request, so calls/s follows
  concurrency ÷ (emulator latency + request overhead) until the CPU is the limit.
- (a) reads the same 1M-line NDJSON file (10% of lines repeat a recent event) on stdin. Both
  write the same ${aLines.toLocaleString('en-US')} unique events (checked). plumline's file sink fsyncs data and its
  commit index before acknowledging each group of batches; the hand-written loop never fsyncs.
- (c) keeps every key (no TTL expiry, no eviction): the peak RSS is the whole process — the
  key table (64-bit hashes, ≈19 bytes a key at 10M) plus the engine and events in flight.
- Operator rows: "written" is the NDJSON the file sink wrote, and serializing it is the largest
  single cost in every row (JSON.stringify runs at ≈ 200 MB/s here). enrich adds phone numbers
  (E.164, country, type, area code) and local time/business hours: each event leaves ~2.1× larger (551 bytes against 262).
  correlate joins errors to the session on their channel (first partner, window 1m, max_pending
  100,000): on this input 70% of events are sessions that wait for a partner, so it runs at
  max_pending and 100,000 events are always held (its live heap measured ≈ 185 MB by a heap
  snapshot; the peak RSS is V8 letting garbage of promoted events pile up between major GCs).
  Held events live under checkpoint holds (durable_after 30s: none is held that long here); (d2s)
  logs every held event to the state store instead, the cost of the old design. mask hashes every
  number (HMAC-SHA256, 37 characters each, cached per value). The full chain writes ≈ 2.6× the
  bytes of (d0): nested partners carry their own enrichment, and four hashes replace four numbers.
- (b) measures the engine: batches of 1,000 generated events through \`map\` (sets one attribute,
  copying the event) and \`filter\`, into a sink that discards them. Generation is part of the cost.
`;
// Sections measured by hand (A/B runs, dated rounds) follow the marker and are kept.
const MARKER = '<!-- pnpm bench rewrites everything above this line';
const previous = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
const kept = previous.includes(MARKER) ? previous.slice(previous.indexOf(MARKER)) : '';
writeFileSync(join(root, 'BENCHMARKS.md'), kept ? `${md}\n${kept}` : md);
console.log(md);
rmSync(tmp, { recursive: true, force: true });
