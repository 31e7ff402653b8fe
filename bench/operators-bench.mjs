// The call operators on the stdin benchmark's input: each alone before dedupe → file, and the
// full chain stdin → enrich → correlate → mask → dedupe → file, beside stdin → dedupe → file in
// the same run. Standalone: `node bench/operators-bench.mjs` (after pnpm build) prints the rows.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeInput } from './make-input.mjs';

export const ENRICH = `{ type: enrich, inputs: [in], local_time: { zone: America/New_York, business_hours: {} } }`;
// Generated events have no session ids: errors join the open session on their channel.
export const CORRELATE = (input, extra = '') => `{ type: correlate, inputs: [${input}], window: 1m,${extra} rules: [{ name: channel_errors, anchor: { kind: session }, partner: { kind: error }, anchor_key: attributes.channel, partner_key: attributes.channel }] }`;
export const MASK = (input) => `{ type: mask, inputs: [${input}], numbers: hash }`;

export function pipeline(tmp, name, transforms, last) {
  writeFileSync(
    join(tmp, `${name}.yaml`),
    `state: { type: directory, path: state-${name} }
sources:
  in: { type: stdin }
transforms:
${transforms.map(([id, def]) => `  ${id}: ${def}`).join('\n')}
  d: { type: dedupe, inputs: [${last}], key: [id] }
sinks:
  out: { type: file, inputs: [d], path: out-${name}.ndjson }
`,
  );
  return join(tmp, `${name}.yaml`);
}

export async function operatorsBench(root, tmp, input, events) {
  const run = (file) => {
    const stdin = openSync(input, 'r');
    const r = spawnSync(process.execPath, [join(root, 'bench/run-pipeline.mjs'), file, String(events)], { cwd: tmp, env: { ...process.env, PLUMLINE_MASK_KEY: 'bench-mask-key-0123456789' }, stdio: [stdin, 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    closeSync(stdin);
    if (r.status !== 0) throw new Error(`${file} exited ${r.status}`);
    return JSON.parse(r.stdout.toString().trim().split('\n').pop());
  };
  const cases = [
    ['d0', 'stdin → dedupe → file (reference)', pipeline(tmp, 'd0', [['pass', `{ type: filter, inputs: [in], where: { id: { exists: true } } }`]], 'pass')],
    ['d1', 'stdin → enrich → dedupe → file', pipeline(tmp, 'd1', [['e', ENRICH]], 'e')],
    ['d2', 'stdin → correlate → dedupe → file', pipeline(tmp, 'd2', [['c', CORRELATE('in')]], 'c')],
    ['d2s', 'stdin → correlate (durable_after: 0s, every held event logged) → dedupe → file', pipeline(tmp, 'd2s', [['c', CORRELATE('in', ' durable_after: 0s,')]], 'c')],
    ['d3', 'stdin → mask → dedupe → file', pipeline(tmp, 'd3', [['m', MASK('in')]], 'm')],
    ['d4', 'stdin → enrich → correlate → mask → dedupe → file', pipeline(tmp, 'd4', [['e', ENRICH], ['c', CORRELATE('e')], ['m', MASK('c')]], 'm')],
  ];
  // The VM's speed drifts by tens of percent within minutes, so each row is measured in pairs:
  // (d0) then the row, back to back, PAIRS times; the ratio is the median of the pairs' ratios.
  const results = {};
  const ratios = {};
  const d0Runs = [];
  const once = (key, file) => {
    const r = run(file);
    r.outBytes = statSync(join(tmp, `out-${key}.ndjson`)).size;
    rmSync(join(tmp, `out-${key}.ndjson`), { force: true });
    rmSync(join(tmp, `state-${key}`), { recursive: true, force: true });
    return r;
  };
  const [, , d0File] = cases[0];
  // BENCH_ONLY=d1,d4 measures those rows (and (d0)) only.
  const only = process.env.BENCH_ONLY?.split(',');
  const measured = cases.filter(([key]) => key === 'd0' || !only || only.includes(key));
  for (const [key, label, file] of measured.slice(1)) {
    console.log(`(${key}) ${label}, ${PAIRS} pairs with (d0)…`);
    const runs = [];
    ratios[key] = [];
    for (let i = 0; i < PAIRS; i++) {
      const ref = once('d0', d0File);
      const r = once(key, file);
      d0Runs.push(ref);
      runs.push(r);
      ratios[key].push(ref.ms / r.ms);
    }
    results[key] = medianBy(runs, (r) => -r.ms);
  }
  results.d0 = medianBy(d0Runs, (r) => -r.ms);
  const rate = (r) => Math.round(events / (r.ms / 1000));
  const mb = (b) => `${Math.round(b / 1024 / 1024)} MB`;
  return measured.map(([key, label]) => {
    const r = results[key];
    const rs = ratios[key] ?? [1];
    const ratio = median(rs);
    const spread = rs.length > 1 ? ` (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})` : '';
    const target = key === 'd0' ? `reference (median of ${d0Runs.length})` : key === 'd2s' ? '(reported)' : key === 'd4' ? `≥ 0.5 of (d0): ${ratio >= 0.5 ? 'met' : '**not met**'}` : `within 20% of (d0): ${ratio >= 0.8 ? 'met' : '**not met**'}`;
    return `| (${key}) ${label} | ${rate(r).toLocaleString('en-US')} | ${mb(r.maxRssBytes)} | ${mb(r.outBytes)} | ${ratio.toFixed(2)}${spread} of (d0) | ${target} |`;
  });
}

/** Runs of each row against (d0). */
export const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The run whose score is the median. */
const medianBy = (runs, score) => [...runs].sort((a, b) => score(a) - score(b))[Math.floor(runs.length / 2)];

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  const tmp = join(root, '.bench-tmp-ops');
  const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const input = join(tmp, 'input.ndjson');
  await makeInput(input, events);
  console.log((await operatorsBench(root, tmp, input, events)).join('\n'));
  rmSync(tmp, { recursive: true, force: true });
}
