// Plum rows of `pnpm bench`: the emulator serves from this process; the pipeline runs in a child.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlumEmulator } from '../packages/source-plum/dist/emulator/index.js';

/** Runs a pipeline file in a child process (bench/run-pipeline.mjs); resolves with its report. */
export function child(root, tmp, yamlFile) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(root, 'bench/run-pipeline.mjs'), yamlFile, '0'], { cwd: tmp, env: { ...process.env, BENCH_STATE: 'memory' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`pipeline exited ${code}`))));
  });
}

/** Returns markdown rows. */
export async function plumBench(root, tmp) {
  const rows = [];
  const end = Math.floor(Date.now() / 1000) - 60;

  // Sessions: 200,000 lines in the range, pages of 10,000.
  const SESSIONS = 200_000;
  const sessionsEmu = new PlumEmulator({ seed: 3, sessionsPerSecond: 2, username: 'u', password: 'p', originSec: end - SESSIONS / 2 - 86_400 });
  const url1 = await sessionsEmu.start();
  const s0 = end - SESSIONS / 2;
  writeFileSync(
    join(tmp, 'plum-sessions.yaml'),
    `sources:\n  plum: { type: plum, base_url: "${url1}", username: u, password: p, streams: [sessions], start: ${s0}, end: ${end}, page_size: 10000 }\ntransforms:\n  d: { type: dedupe, inputs: [plum], max_keys: 1000000 }\nsinks:\n  out: { type: file, inputs: [d], path: plum-sessions.ndjson }\n`,
  );
  console.log('plum: 200k sessions…');
  const r1 = await child(root, tmp, join(tmp, 'plum-sessions.yaml'));
  await sessionsEmu.stop();
  if (r1.stats.out.eventsOut !== SESSIONS) throw new Error(`sessions bench wrote ${r1.stats.out.eventsOut}`);
  const evs = Math.round(SESSIONS / (r1.ms / 1000));
  rows.push(`| Plum emulator → plum (sessions) → dedupe → file, ${SESSIONS.toLocaleString('en-US')} sessions | ${evs.toLocaleString('en-US')} | ${Math.round(r1.maxRssBytes / 2 ** 20)} MB | ${Math.round(sessionsEmu.stats.requests / (r1.ms / 1000))} requests/s (${sessionsEmu.stats.requests} requests) | ≥ 50,000 events/s: ${evs >= 50_000 ? 'met' : '**not met**'} |`);

  // Calls: 20,000 calls, each needing its calls/log/{id} request; the emulator answers after 1 ms.
  const CALLS = 20_000;
  for (const concurrency of [1, 8, 32]) {
    const emu = new PlumEmulator({ seed: 4, sessionsPerSecond: 1, username: 'u', password: 'p', faults: { latencyMs: 1 } });
    const url = await emu.start();
    // Find the start that holds exactly 20,000 calls before `end`.
    let count = 0;
    let i = emu.data.indexRange(end, end)[0] - 1;
    while (count < CALLS) if (emu.data.hasCall(i--)) count++;
    const start = emu.data.startOf(i + 1);
    writeFileSync(
      join(tmp, `plum-calls-${concurrency}.yaml`),
      `sources:\n  plum: { type: plum, base_url: "${url}", username: u, password: p, streams: [calls], start: ${start}, end: ${end}, page_size: 1000, concurrency: ${concurrency} }\ntransforms:\n  d: { type: dedupe, inputs: [plum] }\nsinks:\n  out: { type: file, inputs: [d], path: plum-calls-${concurrency}.ndjson }\n`,
    );
    console.log(`plum: 20k calls at concurrency ${concurrency}…`);
    const r = await child(root, tmp, join(tmp, `plum-calls-${concurrency}.yaml`));
    await emu.stop();
    const reqs = emu.stats.requests;
    rows.push(
      `| Plum emulator (1 ms latency) → plum (calls, concurrency ${concurrency}) → dedupe → file, ${r.stats.out.eventsOut.toLocaleString('en-US')} calls | ${Math.round(r.stats.out.eventsOut / (r.ms / 1000)).toLocaleString('en-US')} | ${Math.round(r.maxRssBytes / 2 ** 20)} MB | ${Math.round(reqs / (r.ms / 1000)).toLocaleString('en-US')} requests/s (${reqs} requests) | bounded by concurrency × latency |`,
    );
  }
  return rows;
}
