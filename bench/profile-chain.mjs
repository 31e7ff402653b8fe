// A CPU profile of the full call chain, stdin → enrich → correlate → mask → dedupe → file (d4 of
// the operators benchmark): the ten functions with the most self time, as a BENCHMARKS.md table.
//   node bench/profile-chain.mjs            (after pnpm build; BENCH_EVENTS)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeInput } from './make-input.mjs';
import { CORRELATE, ENRICH, MASK, pipeline } from './operators-bench.mjs';

/** Self time per function (name, file and line), largest first, as shares of all samples. */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = url ? `${url.replace(/^.*\/(packages|node_modules)\//, '').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + profile.timeDeltas[i]);
    total += profile.timeDeltas[i];
  });
  return { totalMs: total / 1000, rows: [...self].sort((a, b) => b[1] - a[1]).map(([fn, us]) => ({ fn, share: us / total })) };
}

export async function profileChain(root, tmp, input, events, top = 10) {
  const file = pipeline(tmp, 'prof', [['e', ENRICH], ['c', CORRELATE('e')], ['m', MASK('c')]], 'm');
  const dir = join(tmp, 'cpuprofile');
  rmSync(dir, { recursive: true, force: true });
  const stdin = openSync(input, 'r');
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, join(root, 'bench/run-pipeline.mjs'), file, String(events)], { cwd: tmp, env: { ...process.env, PLUMLINE_MASK_KEY: 'bench-mask-key-0123456789' }, stdio: [stdin, 'pipe', 'inherit'] });
  closeSync(stdin);
  if (r.status !== 0) throw new Error(`profiled chain exited ${r.status}`);
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const { totalMs, rows } = selfTimes(JSON.parse(readFileSync(join(dir, name), 'utf8')));
  return [
    `${events.toLocaleString('en-US')} events, ${Math.round(totalMs).toLocaleString('en-US')} ms of samples (start-up included)`,
    '',
    '| # | self time | function (file:line) |',
    '|---:|---:|---|',
    ...rows.slice(0, top).map((x, i) => `| ${i + 1} | ${(100 * x.share).toFixed(1)}% | \`${x.fn}\` |`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  const tmp = join(root, '.bench-tmp-profile');
  const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const input = join(tmp, 'input.ndjson');
  if (process.env.BENCH_PROFILE_INPUT === 'a') {
    // Input A beside the hand-written chain: node bench/profile-chain.mjs with BENCH_PROFILE_INPUT=a.
    const { makeInputA } = await import('./make-input-a.mjs');
    await makeInputA(input, events);
    console.log(profileCompare(root, tmp, input, events).join('\n'));
  } else {
    await makeInput(input, events);
    console.log((await profileChain(root, tmp, input, events)).join('\n'));
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** Self time by kind of work, in ms: what the chain's time goes to beside the hand-written chain's. */
export function byKind(profile) {
  const { totalMs, rows } = selfTimes(profile);
  const kinds = [
    ['JSON out (stringify)', /stringify|eventJsonLine|jsonLine/],
    ['JSON in (parse)', /JSON\.parse|parseEventLine|parseLine/],
    ['garbage collector', /garbage collector/],
    ['idle (waiting for reads, fsyncs)', /\(idle\)/],
    ['libphonenumber-js', /libphonenumber/],
    ['HMAC', /Hmac|digest|update|crypto/],
    ['caches (memo-map get)', /memo-map/],
    ['mask', /mask-operator/],
    ['enrich', /enrich|local-clock|phone-normalizer/],
    ['correlate', /correlat|hold-ledger/],
    ['dedupe and file sink', /dedupe|file-sink|fdatasync|writeBuffers|write node:buffer/],
    ['stdin source, engine (core)', /core\/dist/],
    ['the hand-written program', /hand-chain\.mjs/],
  ];
  const out = new Map(kinds.map(([k]) => [k, 0]));
  out.set('other (V8 builtins, Node internals, start-up)', 0);
  for (const r of rows) {
    const kind = kinds.find(([, re]) => re.test(r.fn))?.[0] ?? 'other (V8 builtins, Node internals, start-up)';
    out.set(kind, out.get(kind) + r.share * totalMs);
  }
  return { totalMs, kinds: out };
}

/** Profiles plumline's chain and the hand-written chain on `input` (one run each): a table of ms by kind of work. */
export function profileCompare(root, tmp, input, events) {
  const file = pipeline(tmp, 'profc', [['e', ENRICH], ['c', CORRELATE('e')], ['m', MASK('c')]], 'm');
  const profiled = (name, args) => {
    const dir = join(tmp, `cpuprofile-${name}`);
    rmSync(dir, { recursive: true, force: true });
    const stdin = openSync(input, 'r');
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, ...args], { cwd: tmp, env: { ...process.env, PLUMLINE_MASK_KEY: 'bench-mask-key-0123456789' }, stdio: [stdin, 'pipe', 'inherit'] });
    closeSync(stdin);
    if (r.status !== 0) throw new Error(`profiled ${name} exited ${r.status}`);
    return byKind(JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))), 'utf8')));
  };
  const p = profiled('plumline', [join(root, 'bench/run-pipeline.mjs'), file, String(events)]);
  const h = profiled('hand', [join(root, 'bench/hand-chain.mjs'), 'chain', 'out-hand-prof.ndjson']);
  const ms = (x) => `${Math.round(x).toLocaleString('en-US')} ms`;
  return [
    `| ${events.toLocaleString('en-US')} events, ${process.version}, one run each | plumline chain | hand-written chain | difference |`,
    '|---|---:|---:|---:|',
    ...[...p.kinds.keys()].map((k) => `| ${k} | ${ms(p.kinds.get(k))} | ${ms(h.kinds.get(k) ?? 0)} | ${ms(p.kinds.get(k) - (h.kinds.get(k) ?? 0))} |`),
    `| all samples | ${ms(p.totalMs)} | ${ms(h.totalMs)} | ${ms(p.totalMs - h.totalMs)} |`,
  ];
}
