// The spread row of the tenants benchmarks (issue #27): N ingest workers (`plumline run`, each its
// own process) share 1,000 Plum accounts through Kafka (`spread:`, the Kafka state store, an
// exactly-once Kafka sink), against the scripted multi-account server of the spread test
// (packages/cli/src/test-support/plum-tenants-server.ts, 12 sessions per account, `latency` ms per
// answer). Measured per run: wall time from the workers' start until every session is in the
// output topic as a committed record (a kafkajs read_committed consumer in this process), the
// workers' CPU (user + system, from /proc) and peak RSS; runs interleaved 1, 3 workers × rounds.
// Needs a broker: `KAFKA_PORT=19303 bash scripts/kafka.sh up`, then
// `BENCH_KAFKA=127.0.0.1:19303 node bench/tenants-spread-bench.mjs [accounts] [rounds] [latencyMs]`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.bench-tmp');
const ACCOUNTS = Number(process.argv[2] ?? 1_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const LATENCY_MS = Number(process.argv[4] ?? 20);
const BROKER = process.env.BENCH_KAFKA ?? '127.0.0.1:19303';
const SHARES = 12;

const out = join(tmp, 'plum-tenants-server');
if (spawnSync(join(root, 'node_modules/.bin/tsc'), [join(root, 'packages/cli/src/test-support/plum-tenants-server.ts'), '--outDir', out, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node'], { stdio: 'inherit' }).status !== 0) throw new Error('tsc failed');
writeFileSync(join(out, 'package.json'), '{"type":"module"}');
const { startPlumTenantsServer } = await import(join(out, 'plum-tenants-server.js'));

const kafka = new Kafka({ clientId: 'tenants-spread-bench', brokers: [BROKER], logLevel: logLevel.NOTHING });

/** CPU seconds (user + system) and RSS (KB) of `pid` now, from /proc. */
function sample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(stat[11]) + Number(stat[12]);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuSec: ticks / 100, rssKb };
  } catch {
    return undefined;
  }
}

async function run(workers, round) {
  const s = `${workers}w${round}x${Date.now().toString(36)}`;
  const plum = await startPlumTenantsServer({ accounts: ACCOUNTS, sessionsPerAccount: 12, latencyMs: LATENCY_MS, nowSec: Math.floor(Date.now() / 1000) });
  const yaml = `id: spread-${s}
state: { type: kafka, brokers: ["${BROKER}"], topic: state-${s} }
spread: { partitions: ${SHARES}, topic: tenants-${s}, session_timeout: 6s }
sources:
  plum: { type: plum, base_url: "${plum.url}", accounts_file: accounts.yaml, streams: [sessions], backfill: 2h, poll_interval: 60s }
sinks:
  out: { type: kafka, inputs: [plum], brokers: ["${BROKER}"], topic: out-${s}, exactly_once: true, create_topics: { partitions: 3 } }
`;
  const accountsYaml = plum.accounts.map((a) => `- { name: ${a.name}, username: ${a.username}, password: ${a.password} }`).join('\n');
  const dirs = Array.from({ length: workers }, (_, i) => join(tmp, `spread-${s}-${i}`));
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'p.yaml'), yaml);
    writeFileSync(join(d, 'accounts.yaml'), accountsYaml);
  }
  const ids = new Set();
  const consumer = kafka.consumer({ groupId: `bench-reader-${s}`, readUncommitted: false });
  await consumer.connect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `out-${s}`, numPartitions: 3 }] }).catch(() => {});
  await admin.disconnect();
  await consumer.subscribe({ topic: `out-${s}`, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void ids.add(JSON.parse(message.value.toString()).id) });
  const started = Date.now();
  const procs = dirs.map((d) => spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', 'p.yaml', '--log-level', 'warn'], { cwd: d, stdio: ['ignore', 'ignore', 'inherit'] }));
  const last = procs.map(() => ({ cpuSec: 0, rssKb: 0 }));
  const peakKb = procs.map(() => 0);
  const timer = setInterval(() => {
    procs.forEach((p, i) => {
      const x = sample(p.pid);
      if (x) {
        last[i] = x;
        peakKb[i] = Math.max(peakKb[i], x.rssKb);
      }
    });
  }, 500);
  while (ids.size < plum.expectedIds.size && Date.now() - started < 600_000) await new Promise((r) => setTimeout(r, 200));
  const wallSec = (Date.now() - started) / 1000;
  clearInterval(timer);
  procs.forEach((p, i) => {
    const x = sample(p.pid);
    if (x) last[i] = x;
  });
  await Promise.all(procs.map((p) => new Promise((r) => (p.on('exit', r), p.kill('SIGTERM')))));
  await consumer.disconnect();
  await plum.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const missing = [...plum.expectedIds].filter((id) => !ids.has(id)).length;
  return { workers, round, wallSec: Math.round(wallSec * 10) / 10, complete: missing === 0, ids: ids.size, cpuSec: Math.round(last.reduce((n, x) => n + x.cpuSec, 0) * 10) / 10, cpuSecPerWorker: last.map((x) => Math.round(x.cpuSec * 10) / 10), peakRssMbPerWorker: peakKb.map((k) => Math.round(k / 1024)) };
}

const rows = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const workers of [1, 3]) {
    const r = await run(workers, round);
    rows.push(r);
    console.log(JSON.stringify({ ...r, load: loadavg().map((l) => l.toFixed(1)).join(' ') }));
  }
}
