// iPlum rows of `pnpm bench`: 30 days of usage polled from the emulator, and the callback receiver's durable throughput.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { IplumEmulator } from '../packages/source-iplum/dist/emulator/index.js';

function run(args, opts) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });

export async function iplumBench(root, tmp) {
  const rows = [];
  // 100,000 usage records over 30 days, polled in 6 windows of 5 days.
  const RECORDS = 100_000;
  const DAYS = 30;
  const end = Date.now() - 60_000;
  const emu = new IplumEmulator({ seed: 2, recordsPerSecond: RECORDS / (DAYS * 86_400), accessKey: 'AK', secretKey: 'SK', username: 'admin@acme-voice.com' });
  const url = await emu.start();
  writeFileSync(
    join(tmp, 'iplum.yaml'),
    `sources:\n  iplum: { type: iplum, base_url: "${url}", access_key: AK, secret_key: SK, username: admin@acme-voice.com, streams: [usage], usage_types: [iplumtext, externalcall, externaltext, fax, iplumcall], start: ${Math.floor((end - DAYS * 86_400_000) / 1000)}, end: ${Math.floor(end / 1000)} }\ntransforms:\n  d: { type: dedupe, inputs: [iplum] }\nsinks:\n  out: { type: file, inputs: [d], path: iplum.ndjson }\n`,
  );
  console.log('iplum: 30 days of usage…');
  const r = JSON.parse((await run([join(root, 'bench/run-pipeline.mjs'), join(tmp, 'iplum.yaml'), '0'], { cwd: tmp, env: { ...process.env, BENCH_STATE: 'memory' } })).trim().split('\n').pop());
  await emu.stop();
  const n = r.stats.out.eventsOut;
  if (Math.abs(n - RECORDS) > 2) throw new Error(`iplum bench wrote ${n} records`);
  const rate = Math.round(n / (r.ms / 1000));
  rows.push(`| iPlum emulator → iplum (30 days of usage, 6 windows) → dedupe → file, ${n.toLocaleString('en-US')} records | ${rate.toLocaleString('en-US')} | ${Math.round(r.maxRssBytes / 2 ** 20)} MB | ${emu.stats.requests} requests | ≥ 30,000 records/s: ${rate >= 30_000 ? 'met' : '**not met**'} |`);

  // The receiver: callbacks/s answered 2xx after fsync (write-ahead log, group commit), into dedupe → file.
  const port = await freePort();
  writeFileSync(
    join(tmp, 'receiver.yaml'),
    `state: { type: directory, path: receiver-state }\nsources:\n  cb: { type: iplum_callbacks, listen: "127.0.0.1:${port}", auth: { header: { name: x-secret, value: bench-secret } }, max_pending: 1000000 }\ntransforms:\n  d: { type: dedupe, inputs: [cb] }\nsinks:\n  out: { type: file, inputs: [d], path: callbacks.ndjson }\n`,
  );
  const pipeline = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', 'receiver.yaml', '--log-level', 'warn'], { cwd: tmp, stdio: 'inherit' });
  for (let i = 0; i < 100; i++) {
    try {
      const h = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (h.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  const N = 50_000;
  console.log('iplum: receiver load…');
  const load = JSON.parse(await run([join(root, 'bench/callback-load.mjs'), `http://127.0.0.1:${port}/iplum/callbacks`, String(N), '64', 'bench-secret']));
  pipeline.kill('SIGTERM');
  await new Promise((r) => pipeline.once('exit', r));
  if (load.ok !== N) throw new Error(`receiver accepted ${load.ok} of ${N}`);
  rows.push(`| iplum_callbacks receiver → dedupe → file, ${N.toLocaleString('en-US')} callbacks from a second process (64 in flight), each fsynced before its 200 | ${load.requestsPerSec.toLocaleString('en-US')} | — | ${N.toLocaleString('en-US')} POSTs | ≥ 5,000 durable callbacks/s: ${load.requestsPerSec >= 5000 ? 'met' : '**not met**'} |`);
  return rows;
}
