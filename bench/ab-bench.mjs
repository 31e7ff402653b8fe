// One interleaved A/B of the engine and operator rows against an earlier commit: builds that
// commit's packages beside this checkout (.bench-tmp-ab-<commit>, sharing node_modules), then runs
// each row old build, new build, alternately, in fresh processes, BENCH_ROUNDS times.
//   node bench/ab-bench.mjs <commit>      (after pnpm build; BENCH_ROUNDS, BENCH_EVENTS, BENCH_OPS_EVENTS)
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeInput } from './make-input.mjs';
import { makeInputA } from './make-input-a.mjs';
import { CORRELATE, ENRICH, MASK, pipeline } from './operators-bench.mjs';

const root = new URL('..', import.meta.url).pathname;
const [commit] = process.argv.slice(2);
if (!commit) throw new Error('usage: ab-bench.mjs <commit>');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const OPS_EVENTS = Number(process.env.BENCH_OPS_EVENTS ?? 200_000);

/** `commit`'s packages, built, in a directory of their own that shares this checkout's node_modules. */
function oldBuild() {
  const dir = join(root, `.bench-tmp-ab-${commit.slice(0, 12)}`);
  if (existsSync(join(dir, 'built'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  // The packages' own node_modules are relative links (to ../../../node_modules and to each other): copied as they are.
  cpSync(join(root, 'packages'), join(dir, 'packages'), { recursive: true, verbatimSymlinks: true, filter: (src) => !/\/(src|dist)$/.test(src) && !src.endsWith('.tsbuildinfo') });
  execFileSync('sh', ['-c', `git -C '${root}' archive ${commit} packages tsconfig.base.json | tar -x -C '${dir}'`]);
  cpSync(join(root, 'bench/run-pipeline.mjs'), join(dir, 'bench/run-pipeline.mjs'));
  const pkgs = ['core', 'sink-file', 'operators', 'cli'].map((p) => join(dir, 'packages', p));
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', ...pkgs], { stdio: 'inherit' });
  writeFileSync(join(dir, 'built'), commit);
  return dir;
}

function run(dir, file, input, events, env = {}) {
  const stdin = input ? openSync(input, 'r') : 'ignore';
  const r = spawnSync(process.execPath, [join(dir, 'bench/run-pipeline.mjs'), file, String(events)], { cwd: tmp, env: { ...process.env, PLUMLINE_MASK_KEY: 'bench-mask-key-0123456789', ...env }, stdio: [stdin, 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (typeof stdin === 'number') closeSync(stdin);
  if (r.status !== 0) throw new Error(`${file} (${dir}) exited ${r.status}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
}

const tmp = join(root, '.bench-tmp-abrun');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const old = oldBuild();
const input = join(tmp, 'input.ndjson');
await makeInput(input, OPS_EVENTS);
const inputA = join(tmp, 'input-a.ndjson');
await makeInputA(inputA, OPS_EVENTS);
writeFileSync(join(tmp, 'b0.yaml'), `sources:\n  gen: { type: generate, count: ${EVENTS}, batch_size: 1000 }\nsinks:\n  out: { type: blackhole, inputs: [gen] }\n`);
writeFileSync(join(tmp, 'b.yaml'), `sources:\n  gen: { type: generate, count: ${EVENTS}, batch_size: 1000 }\ntransforms:\n  m: { type: map, inputs: [gen], set: { attributes.pipeline: bench } }\n  f: { type: filter, inputs: [m], where: { durationSec: { gte: 0 } } }\nsinks:\n  out: { type: blackhole, inputs: [f] }\n`);
const d0 = pipeline(tmp, 'abd0', [['pass', `{ type: filter, inputs: [in], where: { id: { exists: true } } }`]], 'pass');
const d4 = pipeline(tmp, 'abd4', [['e', ENRICH], ['c', CORRELATE('e')], ['m', MASK('c')]], 'm');
const rows = [
  ['(b0) generate → blackhole', join(tmp, 'b0.yaml'), undefined, EVENTS, { BENCH_STATE: 'memory' }],
  ['(b) generate → map → filter → blackhole', join(tmp, 'b.yaml'), undefined, EVENTS, { BENCH_STATE: 'memory' }],
  ['(d0) stdin → dedupe → file', d0, input, OPS_EVENTS],
  ['(d4) the chain, BENCHMARKS.md\'s input', d4, input, OPS_EVENTS],
  ['(d4) the chain, input A', d4, inputA, OPS_EVENTS],
];
const res = rows.map(() => ({ old: [], new: [] }));
/** CPU time per run (user + system, all threads): steadier than wall time on a shared machine. */
const cpu = rows.map(() => ({ old: [], new: [] }));
for (let round = 0; round < ROUNDS; round++) {
  console.log(`A/B: round ${round + 1} of ${ROUNDS}…`);
  rows.forEach(([, file, inp, n, env], i) => {
    for (const [side, dir] of round % 2 ? [['new', root], ['old', old]] : [['old', old], ['new', root]]) {
      rmSync(join(tmp, 'state-abd0'), { recursive: true, force: true });
      rmSync(join(tmp, 'state-abd4'), { recursive: true, force: true });
      // The output and the file sink's claim on it go with the state: a fresh run each time (an
      // output whose claim outlived its state stops the start, STATE_CORRUPT).
      for (const f of ['out-abd0.ndjson', 'out-abd4.ndjson', '.out-abd0.ndjson.plumline-owner', '.out-abd4.ndjson.plumline-owner']) rmSync(join(tmp, f), { force: true });
      const r = run(dir, file, inp, n, env);
      res[i][side].push(n / (r.ms / 1000));
      cpu[i][side].push(r.cpuMs);
    }
  });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const k = (x) => `${Math.round(x / 1000).toLocaleString('en-US')}k`;
console.log(`| benchmark (${ROUNDS} interleaved rounds) | before (${commit.slice(0, 7)}), events/s | after | change of medians | CPU s before → after (medians) | change of CPU time |\n|---|---|---|---|---|---|`);
rows.forEach(([label], i) => {
  const { old: o, new: n } = res[i];
  const c = cpu[i];
  console.log(`| ${label} | ${k(Math.min(...o))}–${k(Math.max(...o))} (median ${k(median(o))}) | ${k(Math.min(...n))}–${k(Math.max(...n))} (median ${k(median(n))}) | ${((median(n) / median(o) - 1) * 100).toFixed(1)}% | ${(median(c.old) / 1000).toFixed(2)} → ${(median(c.new) / 1000).toFixed(2)} | ${((median(c.new) / median(c.old) - 1) * 100).toFixed(1)}% |`);
});
rmSync(tmp, { recursive: true, force: true });
