// One interleaved run of the same job, stdin → map → dedupe → file, three ways: the hand-written
// Node loop (bench/baseline.mjs), the plumline CLI, and Redpanda Connect's engine (Benthos v4.80.0,
// built from the Go module proxy by bench/benthos when `go` is on the PATH). Each round runs the
// three back to back in fresh processes; wall time is spawn to exit (start-up included for all),
// CPU and peak RSS come from /usr/bin/time. Medians over the rounds, ranges beside them.
//   node bench/compare-bench.mjs            (after pnpm build; BENCH_EVENTS, BENCH_ROUNDS)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeInput } from './make-input.mjs';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** The Benthos release the comparison names: the one Redpanda Connect 4.x builds on. */
export const BENTHOS_VERSION = 'v4.80.0';

/** Builds the Benthos binary once (go build caches the rest); undefined when there is no Go toolchain. */
function buildBenthos(root) {
  const dir = join(root, 'bench/benthos');
  const bin = join(dir, '.bin/benthos');
  if (spawnSync('go', ['version']).status !== 0) return undefined;
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: dir, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod' } });
  if (r.status !== 0) throw new Error(`building Benthos ${BENTHOS_VERSION} failed (go build exited ${r.status})`);
  return bin;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Runs one command with the input on stdin; wall ms, CPU ms and peak RSS (when /usr/bin/time is there). */
function timed(cmd, args, input, cwd, env = {}) {
  const stdin = openSync(input, 'r');
  const argv = TIME ? ['-f', 'TIME %U %S %M', cmd, ...args] : args;
  const started = performance.now();
  const r = spawnSync(TIME ?? cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const ms = performance.now() - started;
  closeSync(stdin);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr.toString());
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined, maxRssBytes: m ? Number(m[3]) * 1024 : undefined };
}

/** (a)'s pipeline, stdin → map → dedupe → file, with its state and output named after `name`. */
export const mapDedupeFile = (name) => `state: { type: directory, path: state-${name} }
sources:
  in: { type: stdin }
transforms:
  m: { type: map, inputs: [in], set: { attributes.pipeline: bench, attributes.caller: { copy: from } } }
  d: { type: dedupe, inputs: [m], key: [id] }
sinks:
  out: { type: file, inputs: [d], path: out-${name}.ndjson }
`;

const lineCount = (path) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;

export async function compareBench(root, tmp, input, events) {
  const benthos = buildBenthos(root);
  writeFileSync(join(tmp, 'cmp.yaml'), mapDedupeFile('cmp'));
  // The same map and dedupe in Benthos: its memory cache holds the ids for the whole run.
  writeFileSync(
    join(tmp, 'benthos.yaml'),
    `input: { stdin: { scanner: { lines: {} } } }
pipeline:
  processors:
    - mapping: |
        root = this
        root.attributes.pipeline = "bench"
        root.attributes.caller = this.from
    - dedupe: { cache: seen, key: '\${! json("id") }' }
cache_resources:
  - { label: seen, memory: { default_ttl: 24h } }
output: { file: { path: out-benthos.ndjson, codec: lines } }
logger: { level: warn }
`,
  );
  const ways = [
    ['hand', 'hand-written Node loop (no fsync)', () => timed(process.execPath, [join(root, 'bench/baseline.mjs'), 'out-hand.ndjson'], input, tmp), 'out-hand.ndjson'],
    ['plumline', 'plumline run (fsync per group)', () => timed(process.execPath, [join(root, 'packages/cli/bin/plumline.mjs'), 'run', 'cmp.yaml', '--log-level', 'warn'], input, tmp), 'out-cmp.ndjson'],
    ...(benthos ? [['benthos', `Benthos ${BENTHOS_VERSION} (no fsync)`, () => timed(benthos, ['-c', 'benthos.yaml'], input, tmp), 'out-benthos.ndjson']] : []),
  ];
  const runs = Object.fromEntries(ways.map(([key]) => [key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`compare: round ${round + 1} of ${ROUNDS}…`);
    for (const [key, , go, out] of ways) {
      rmSync(join(tmp, out), { force: true });
      rmSync(join(tmp, 'state-cmp'), { recursive: true, force: true });
      runs[key].push(go());
      runs[key].at(-1).lines = lineCount(join(tmp, out));
    }
  }
  const expected = runs.hand[0].lines;
  for (const [key] of ways) for (const r of runs[key]) if (r.lines !== expected) throw new Error(`${key} wrote ${r.lines} lines, the hand-written loop ${expected}`);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rate = (ms) => Math.round(events / (ms / 1000));
  const rows = ways.map(([key, label]) => {
    const rs = runs[key];
    const ratios = rs.map((r, i) => runs.hand[i].ms / r.ms);
    const cpu = rs.every((r) => r.cpuMs !== undefined) ? `${(median(rs.map((r) => r.cpuMs)) / 1000).toFixed(2)} s` : '—';
    const rss = rs.every((r) => r.maxRssBytes !== undefined) ? `${Math.round(median(rs.map((r) => r.maxRssBytes)) / 2 ** 20)} MB` : '—';
    return `| ${label} | ${rate(median(rs.map((r) => r.ms))).toLocaleString('en-US')} (${rate(Math.max(...rs.map((r) => r.ms))).toLocaleString('en-US')}–${rate(Math.min(...rs.map((r) => r.ms))).toLocaleString('en-US')}) | ${cpu} | ${rss} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`;
  });
  if (!benthos) rows.push(`| Benthos ${BENTHOS_VERSION} | skipped: no Go toolchain on this machine | | | |`);
  else {
    const ratios = runs.plumline.map((r, i) => runs.benthos[i].ms / r.ms);
    rows.push(`| plumline ÷ Benthos, same round | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | | | |`);
  }
  const header = [`| ${events.toLocaleString('en-US')} events, ${ROUNDS} interleaved rounds | events/s, median (range) | CPU (median) | peak RSS | of the hand-written loop, same round |`, '|---|---:|---:|---:|---|'];
  return [...header, ...rows];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  const tmp = join(root, '.bench-tmp-compare');
  const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const input = join(tmp, 'input.ndjson');
  await makeInput(input, events);
  console.log((await compareBench(root, tmp, input, events)).join('\n'));
  rmSync(tmp, { recursive: true, force: true });
}
