// Tenants rows of `pnpm bench` (issue #27): one plum source over 1, 10, 100 and 1,000 accounts,
// `--once` over a day of data, against a scripted multi-account server (not the emulator's
// reading code path: packages/cli/src/test-support/tenants-server.ts, compiled here with tsc)
// serving each account 173 sessions and 52 calls (each with its detail) a day. Each run is its
// own Node process (bench/run-pipeline.mjs: CPU seconds and peak RSS are that process's); the
// server runs in this one. Runs are interleaved (1, 10, 100, 1000, then again) and medians reported.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function child(root, tmp, yamlFile) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(root, 'bench/run-pipeline.mjs'), yamlFile, '0'], { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`pipeline exited ${code}`))));
  });
}

/** The scripted server, compiled from the tests' TypeScript into `tmp`. */
async function serverClass(root, tmp) {
  const out = join(tmp, 'tenants-server');
  const r = spawnSync(join(root, 'node_modules/.bin/tsc'), [join(root, 'packages/cli/src/test-support/tenants-server.ts'), '--outDir', out, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('tsc of tenants-server.ts failed');
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  return (await import(join(out, 'tenants-server.js'))).TenantsServer;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Returns markdown rows. */
export async function tenantsBench(root, tmp, { counts = [1, 10, 100, 1000], repeats = 3 } = {}) {
  const TenantsServer = await serverClass(root, tmp);
  const end = Math.floor(Date.now() / 1000) - 60;
  const start = end - 86_400;
  const runs = new Map(counts.map((n) => [n, []]));
  for (let round = 0; round < repeats; round++) {
    for (const n of counts) {
      const names = Array.from({ length: n }, (_, i) => `t${String(i).padStart(5, '0')}`);
      const server = new TenantsServer({ accounts: names, sessionEverySec: 500, callEverySec: 1_660 });
      const url = await server.start();
      const dir = join(tmp, `tenants-${n}-${round}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'tenants.yaml'), TenantsServer.accountsYaml(names, url));
      writeFileSync(join(dir, 'p.yaml'), `state: { type: directory, path: state }\nsources:\n  plum: { type: plum, accounts_file: tenants.yaml, streams: [sessions, calls], start: ${start}, end: ${end}, poll_interval: 20s }\nsinks:\n  out: { type: file, inputs: [plum], path: out.ndjson }\n`);
      console.log(`tenants: ${n} accounts, round ${round + 1}…`);
      const r = await child(root, dir, join(dir, 'p.yaml'));
      await server.stop();
      const expected = names.reduce((sum, a) => sum + server.sessionsIn(a, start, end).length, 0);
      if (r.stats.out.eventsIn < expected) throw new Error(`${n} accounts: wrote ${r.stats.out.eventsIn} events, expected at least ${expected} sessions`);
      runs.get(n).push({ cpuSec: r.cpuSec, rssMb: r.maxRssBytes / 2 ** 20, ms: r.ms, events: r.stats.out.eventsIn });
    }
  }
  // Per account: the CPU above the 1-account run's (start-up, loading plugins), per account added.
  const base = runs.has(1) ? median(runs.get(1).map((r) => r.cpuSec)) : 0;
  const marginal = (n) => (median(runs.get(n).map((r) => r.cpuSec)) - base) / Math.max(1, n - 1);
  const per10 = runs.has(10) ? marginal(10) : undefined;
  return counts.map((n) => {
    const rs = runs.get(n);
    const cpu = median(rs.map((r) => r.cpuSec));
    const rss = median(rs.map((r) => r.rssMb));
    const range = (xs, d = 1) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
    const perAccount = n === 1 ? undefined : marginal(n);
    const ratio = perAccount === undefined ? 'the base' : `${(perAccount * 1000).toFixed(1)} ms${per10 === undefined ? '' : ` = ${(perAccount / per10).toFixed(2)}× at 10`}`;
    const target = n === 1000 ? `RSS < 300 MB: ${rss < 300 ? 'met' : '**not met**'}; CPU per account ≤ 2× at 10: ${per10 !== undefined && perAccount <= 2 * per10 ? 'met' : '**not met**'}` : '(reported)';
    return `| plum, ${n.toLocaleString('en-US')} account${n === 1 ? '' : 's'}, --once over 1 day (${rs[0].events.toLocaleString('en-US')} events) | ${cpu.toFixed(2)} s (${range(rs.map((r) => r.cpuSec), 2)}) | ${Math.round(rss)} MB (${range(rs.map((r) => r.rssMb), 0)}) | ${(median(rs.map((r) => r.ms)) / 1000).toFixed(1)} s | ${ratio} | ${target} |`;
  });
}

// `node bench/tenants-bench.mjs [counts…]`: just these rows.
if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  const tmp = join(root, '.bench-tmp');
  mkdirSync(tmp, { recursive: true });
  const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const rows = await tenantsBench(root, tmp, counts.length ? { counts, repeats: Number(process.env.BENCH_REPEATS ?? 3) } : {});
  console.log('| benchmark | CPU (range) | peak RSS (range) | wall | CPU per account added | target |\n|---|---:|---:|---:|---|---|');
  for (const r of rows) console.log(r);
}
