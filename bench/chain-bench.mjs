// The operator rows against their hand-written equivalents (bench/hand-chain.mjs), on Node 20 and
// Node 24: (d0) stdin → dedupe → file beside the hand-written (d0) loop, and the full chain
// stdin → enrich → correlate → mask → dedupe → file beside the hand-written chain, on
// BENCHMARKS.md's input and on input A (bench/make-input-a.mjs: most sessions wait for a partner,
// ~70k distinct numbers). Each round runs every (runtime, input, program) once in a fresh process,
// interleaved, so the shared VM's drift hits them alike; ratios are taken within a round, and
// reported as medians with their ranges. Every output is checked byte for byte against the
// hand-written program's of the same round (the checker), so both did the same work.
//   node bench/chain-bench.mjs     (after pnpm build; BENCH_EVENTS, BENCH_EVENTS_A, BENCH_ROUNDS,
//                                   BENCH_CHAIN_INPUTS=1m,a  BENCH_NODES=20,24)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeInput } from './make-input.mjs';
import { makeInputA } from './make-input-a.mjs';
import { CORRELATE, ENRICH, MASK, pipeline } from './operators-bench.mjs';

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MASK_KEY = 'bench-mask-key-0123456789';

/** The Node binaries to compare: this one (20) and Node 24 through npx (installed once). */
export function runtimes(which = (process.env.BENCH_NODES ?? '20,24').split(',')) {
  const out = [];
  for (const v of which) {
    if (process.version.startsWith(`v${v}.`)) out.push({ name: `Node ${v}`, bin: process.execPath, version: process.version });
    else {
      const r = spawnSync('npx', ['--yes', '-p', `node@${v}`, 'node', '-p', 'process.execPath + " " + process.version'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cannot get Node ${v} through npx: ${r.stderr}`);
      const [bin, version] = r.stdout.trim().split(' ');
      out.push({ name: `Node ${v}`, bin, version });
    }
  }
  return out;
}

const sha = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function run(bin, args, input, cwd) {
  const stdin = openSync(input, 'r');
  const r = spawnSync(bin, args, { cwd, env: { ...process.env, PLUMLINE_MASK_KEY: MASK_KEY }, stdio: [stdin, 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  closeSync(stdin);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.status}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const span = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

export async function chainBench(root, tmp, events, eventsA, inputs = (process.env.BENCH_CHAIN_INPUTS ?? '1m,a').split(',')) {
  const nodes = runtimes();
  const files = [];
  if (inputs.includes('1m')) {
    const path = join(tmp, 'input.ndjson');
    await makeInput(path, events);
    files.push({ key: '1m', label: `BENCHMARKS.md's input, ${events.toLocaleString('en-US')} events`, path, events });
  }
  if (inputs.includes('a')) {
    const path = join(tmp, 'input-a.ndjson');
    await makeInputA(path, eventsA);
    files.push({ key: 'a', label: `input A, ${eventsA.toLocaleString('en-US')} events`, path, events: eventsA });
  }
  const d0 = pipeline(tmp, 'cd0', [['pass', `{ type: filter, inputs: [in], where: { id: { exists: true } } }`]], 'pass');
  // window 1h and durable_after 1h, not 1m and 30s: the hand-written chain has no clock (its windows
  // close at max_pending and at the end of input). On a loaded machine a run takes over 30 s, so
  // plumline's held events became durable (logged, their checkpoint holds released) and left in the
  // batch at hand rather than in one of their own, in another order; over a minute, windows closed
  // by time. Either way the byte-for-byte check failed. Shorter runs do the same work with either.
  const d4 = pipeline(tmp, 'cd4', [['e', ENRICH], ['c', CORRELATE('e', ' durable_after: 1h,').replace('window: 1m,', 'window: 1h,')], ['m', MASK('c')]], 'm');
  const programs = [
    { key: 'hd0', args: () => [join(root, 'bench/hand-chain.mjs'), 'd0', 'out-hd0.ndjson'], out: 'out-hd0.ndjson' },
    { key: 'pd0', args: (n) => [join(root, 'bench/run-pipeline.mjs'), d0, String(n)], out: 'out-cd0.ndjson', state: 'state-cd0', checks: 'hd0' },
    { key: 'hch', args: () => [join(root, 'bench/hand-chain.mjs'), 'chain', 'out-hch.ndjson'], out: 'out-hch.ndjson' },
    { key: 'pch', args: (n) => [join(root, 'bench/run-pipeline.mjs'), d4, String(n)], out: 'out-cd4.ndjson', state: 'state-cd4', checks: 'hch' },
  ];
  /** ms[node][input][program] = one entry per round. */
  const ms = {};
  /** The same, CPU time (user + system, every thread of the process): steadier than wall time on a loaded machine. */
  const cpu = {};
  const bytes = {};
  const mismatches = [];
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`chain: round ${round + 1} of ${ROUNDS}…`);
    // Alternate the order of runtimes and inputs between rounds too.
    const ns = round % 2 ? [...nodes].reverse() : nodes;
    for (const node of ns) {
      for (const f of round % 2 ? [...files].reverse() : files) {
        const digests = {};
        for (const p of programs) {
          rmSync(join(tmp, p.out), { force: true });
          if (p.state) rmSync(join(tmp, p.state), { recursive: true, force: true });
          const r = run(node.bin, p.args(f.events), f.path, tmp);
          ((ms[node.name] ??= {})[f.key] ??= {})[p.key] ??= [];
          ms[node.name][f.key][p.key].push(r.ms);
          ((cpu[node.name] ??= {})[f.key] ??= {})[p.key] ??= [];
          cpu[node.name][f.key][p.key].push(r.cpuMs);
          digests[p.key] = sha(join(tmp, p.out));
          (bytes[f.key] ??= {})[p.key] = readFileSync(join(tmp, p.out)).byteLength;
          if (p.checks && digests[p.key] !== digests[p.checks]) {
            // Kept for a diff, counted, and reported under the table (BENCH_STRICT=1 stops instead).
            const other = programs.find((x) => x.key === p.checks).out;
            const message = `${node.name}, ${f.label}, round ${round + 1}: plumline's output (${p.out}) differs from the hand-written program's (${other})`;
            if (process.env.BENCH_STRICT === '1') throw new Error(message);
            console.log(message);
            const keep = join(tmp, `mismatch-${round + 1}-${node.name.replace(' ', '')}-${f.key}`);
            mkdirSync(keep, { recursive: true });
            cpSync(join(tmp, p.out), join(keep, p.out));
            cpSync(join(tmp, other), join(keep, other));
            mismatches.push(message);
          }
          if (!p.checks) continue;
          rmSync(join(tmp, p.out), { force: true });
          rmSync(join(tmp, programs.find((x) => x.key === p.checks).out), { force: true });
        }
      }
    }
  }
  const rate = (n, t) => Math.round(n / (t / 1000)).toLocaleString('en-US');
  const rows = [
    `| ${ROUNDS} interleaved rounds | runtime | plumline (d0) ÷ hand-written (d0) | plumline chain ÷ hand-written chain | hand-written chain ÷ hand-written (d0) | the same three by CPU time | events/s: hand (d0), plumline (d0), hand chain, plumline chain (medians) |`,
    '|---|---|---|---|---|---|---|',
  ];
  const ratios = {};
  for (const f of files) {
    for (const node of nodes) {
      const m = ms[node.name][f.key];
      const c = cpu[node.name][f.key];
      const r = (a, b, t = m) => t[a].map((x, i) => t[b][i] / x);
      ratios[`${node.name} ${f.key}`] = { d0: r('pd0', 'hd0'), chain: r('pch', 'hch') };
      rows.push(`| ${f.label} | ${node.name} (${node.version}) | ${span(r('pd0', 'hd0'))} | ${span(r('pch', 'hch'))} | ${span(r('hch', 'hd0'))} | ${[r('pd0', 'hd0', c), r('pch', 'hch', c), r('hch', 'hd0', c)].map((x) => median(x).toFixed(2)).join(' · ')} | ${['hd0', 'pd0', 'hch', 'pch'].map((k) => rate(f.events, median(m[k]))).join(' · ')} |`);
    }
  }
  if (nodes.length === 2) {
    rows.push('', `| Node 24 ÷ Node 20, events/s (medians of the rounds) | hand (d0) | plumline (d0) | hand chain | plumline chain |`, '|---|---:|---:|---:|---:|');
    for (const f of files) rows.push(`| ${f.label} | ${['hd0', 'pd0', 'hch', 'pch'].map((k) => (median(ms[nodes[0].name][f.key][k]) / median(ms[nodes[1].name][f.key][k])).toFixed(2)).join(' | ')} |`);
  }
  rows.push('', ...files.map((f) => `- ${f.label}: ${bytes[f.key].hd0.toLocaleString('en-US')} bytes written by (d0), ${bytes[f.key].hch.toLocaleString('en-US')} by the chain.`));
  rows.push(mismatches.length ? `- **Outputs that differed from the hand-written program's:** ${mismatches.join('; ')} (kept under mismatch-*).` : "- plumline's output equal byte for byte to the hand-written program's in every run.");
  return { rows, ratios, ms, cpu };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  const tmp = join(root, '.bench-tmp-chain');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const { rows, ms, cpu } = await chainBench(root, tmp, Number(process.env.BENCH_EVENTS ?? 1_000_000), Number(process.env.BENCH_EVENTS_A ?? 300_000));
  console.log(rows.join('\n'));
  console.log(JSON.stringify({ ms, cpu }));
  if (!readdirSync(tmp).some((f) => f.startsWith('mismatch-'))) rmSync(tmp, { recursive: true, force: true });
}
