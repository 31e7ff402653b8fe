// The tenants daemon row (issue #27): `plumline run` (a daemon) over N accounts (default 10,000)
// with poll_interval 60s against the scripted multi-account server, for a few minutes: peak RSS
// (sampled from /proc every second), how many accounts were polled in each minute once every
// account had been polled once (backfilled), and what the process wrote per minute after that
// (/proc/<pid>/io wchar: checkpoints, output and log lines together), and what the state directory
// grew by per minute after that (its files' sizes sampled every second; a compaction that shrank
// the record log counts as writing its new size).
// BENCH_IDLE=1: the server lists no record that starts after the run began, so every account is
// idle once it polled three times (the backfill, then the poll that reaches back `lateness`, 2 h,
// before the backfill's start and delivers that hour): the state directory's growth is measured
// from then on (the "state writes < 1 MB a minute while idle").
// `node bench/tenants-daemon-bench.mjs [accounts] [minutes]`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.bench-tmp');
const N = Number(process.argv[2] ?? 10_000);
const MINUTES = Number(process.argv[3] ?? 4);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT_ACCOUNTS ?? 16);

const out = join(tmp, 'tenants-server');
if (spawnSync(join(root, 'node_modules/.bin/tsc'), [join(root, 'packages/cli/src/test-support/tenants-server.ts'), '--outDir', out, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node'], { stdio: 'inherit' }).status !== 0) throw new Error('tsc failed');
writeFileSync(join(out, 'package.json'), '{"type":"module"}');
const { TenantsServer } = await import(join(out, 'tenants-server.js'));

const names = Array.from({ length: N }, (_, i) => `t${String(i).padStart(5, '0')}`);
const server = new TenantsServer({ accounts: names });
const IDLE = process.env.BENCH_IDLE === '1';
if (IDLE) server.quietFromSec = Math.floor(Date.now() / 1000);
const url = await server.start();
const dir = join(tmp, `tenants-daemon-${N}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(names, url));
writeFileSync(join(dir, 'p.yaml'), `state: { type: directory, path: state }\nsources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions, calls], backfill: 1h, poll_interval: 60s, max_concurrent_accounts: ${CONCURRENT} }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
// BENCH_CPU_PROF=dir: the pipeline process writes a V8 CPU profile there when it exits.
const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const child = spawn(process.execPath, [...profile, join(root, 'packages/cli/dist/bin.js'), 'run', 'p.yaml', '--log-level', 'warn'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
const started = Date.now();
let peakKb = 0;
const stateBytes = () => {
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : (n += statSync(join(d, e.name)).size);
  };
  try {
    walk(join(dir, 'state'));
  } catch {}
  return n;
};
let backfilledAt;
let stateAtBackfill;
let idleAt;
let stateLast = 0;
let stateWrittenIdle = 0;
let wcharAtBackfill;
let wcharLast;
const wchar = () => {
  try {
    return Number(/wchar:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/io`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
};
const sampler = setInterval(() => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
    peakKb = Math.max(peakKb, kb);
  } catch {}
  wcharLast = wchar() ?? wcharLast;
  const state = stateBytes();
  if (idleAt === undefined && names.every((a) => server.requests.get(a).polls.length >= 3)) idleAt = Date.now();
  else if (idleAt !== undefined) stateWrittenIdle += state >= stateLast ? state - stateLast : state;
  stateLast = state;
  if (backfilledAt === undefined && names.every((a) => server.requests.get(a).polls.length >= 1)) {
    backfilledAt = Date.now();
    wcharAtBackfill = wcharLast;
    stateAtBackfill = state;
  }
}, 1000);
await new Promise((r) => setTimeout(r, MINUTES * 60_000));
clearInterval(sampler);
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
await server.stop();
// Per minute after backfill: accounts with a poll that began in that minute.
const minutes = [];
if (backfilledAt !== undefined) {
  for (let m = backfilledAt; m + 60_000 <= started + MINUTES * 60_000; m += 60_000) {
    minutes.push(names.filter((a) => server.requests.get(a).polls.some((t) => t >= m && t < m + 60_000)).length);
  }
}
const polledOnce = names.filter((a) => server.requests.get(a).polls.length >= 1).length;
const polls = names.reduce((n, a) => n + server.requests.get(a).polls.length, 0);
const minutesIdle = idleAt === undefined ? undefined : (started + MINUTES * 60_000 - idleAt) / 60_000;
console.log(JSON.stringify({ idle: IDLE, load: (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' '), stateBytesAtBackfill: stateAtBackfill ?? null, stateBytesPerAccountAtEnd: Math.round(stateBytes() / N), idleAfterSec: idleAt === undefined ? null : Math.round((idleAt - started) / 1000), stateWrittenPerMinuteFromThirdPollBytes: minutesIdle === undefined ? null : Math.round(stateWrittenIdle / minutesIdle), polledAtLeastOnce: polledOnce, polls, requestsServed: names.reduce((n, a) => n + server.requests.get(a).served, 0), accounts: N, concurrent: CONCURRENT, minutes: MINUTES, backfilledAfterSec: backfilledAt === undefined ? null : Math.round((backfilledAt - started) / 1000), polledPerMinuteAfterBackfill: minutes, peakRssMb: Math.round(peakKb / 1024), stateBytesAtEnd: stateBytes(), writtenPerMinuteAfterBackfillBytes: backfilledAt === undefined || wcharAtBackfill === undefined ? null : Math.round((wcharLast - wcharAtBackfill) / ((started + MINUTES * 60_000 - backfilledAt) / 60_000)) }));
