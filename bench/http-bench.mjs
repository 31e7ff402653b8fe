// The http row of `pnpm bench`: Plum's sessions listing read by the `http` source (offset/limit,
// result.total_sessions, Basic auth) + plum_parse, interleaved with the `plum` source on the same
// emulator, so that the VM's drift falls on both alike.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlumEmulator } from '../packages/source-plum/dist/emulator/index.js';
import { child } from './plum-bench.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Returns markdown rows. */
export async function httpBench(root, tmp, pairs = 3) {
  const SESSIONS = 200_000;
  const end = Math.floor(Date.now() / 1000) - 60;
  const s0 = end - SESSIONS / 2;
  const emu = new PlumEmulator({ seed: 3, sessionsPerSecond: 2, username: 'u', password: 'p', originSec: end - SESSIONS / 2 - 86_400 });
  const url = await emu.start();
  writeFileSync(join(tmp, 'ref-plum.yaml'), `sources:\n  plum: { type: plum, base_url: "${url}", username: u, password: p, streams: [sessions], start: ${s0}, end: ${end}, page_size: 10000 }\ntransforms:\n  d: { type: dedupe, inputs: [plum], max_keys: 1000000 }\nsinks:\n  out: { type: file, inputs: [d], path: ref-plum.ndjson }\n`);
  writeFileSync(
    join(tmp, 'http-sessions.yaml'),
    `sources:\n  api:\n    type: http\n    url: "${url}calls/sessions/{{from}}/{{to}}?offset={{offset}}&limit={{limit}}"\n    auth: { type: basic, username: u, password: p }\n    time_format: unix\n    pagination: { type: offset, limit: 10000, total: result.total_sessions }\n    records: result.sessions\n    map: { id: { copy: value }, time: 0, time_format: unix, attributes: none }\n    include_raw: true\n    start: ${s0}\n    end: ${end}\ntransforms:\n  parsed: { type: plum_parse, inputs: [api] }\n  d: { type: dedupe, inputs: [parsed], max_keys: 1000000 }\nsinks:\n  out: { type: file, inputs: [d], path: http-sessions.ndjson }\n`,
  );
  const runs = [];
  for (let i = 0; i < pairs; i++) {
    console.log(`http: 200k sessions, pair ${i + 1} of ${pairs}…`);
    const ref = await child(root, tmp, join(tmp, 'ref-plum.yaml'));
    const before = emu.stats.requests;
    const r = await child(root, tmp, join(tmp, 'http-sessions.yaml'));
    if (r.stats.out.eventsOut !== SESSIONS || ref.stats.out.eventsOut !== SESSIONS) throw new Error(`http bench wrote ${r.stats.out.eventsOut}, plum ${ref.stats.out.eventsOut}`);
    runs.push({ evs: SESSIONS / (r.ms / 1000), ratio: ref.ms / r.ms, rss: r.maxRssBytes, requests: emu.stats.requests - before, ms: r.ms });
  }
  await emu.stop();
  const mid = runs.find((x) => x.evs === median(runs.map((y) => y.evs)));
  const ratios = runs.map((x) => x.ratio);
  const n = (x) => Math.round(x).toLocaleString('en-US');
  return [
    `| Plum emulator → http (sessions: offset/limit, result.total_sessions, Basic auth) → plum_parse → dedupe → file, ${SESSIONS.toLocaleString('en-US')} sessions (median of ${pairs}; range ${n(Math.min(...runs.map((x) => x.evs)))}–${n(Math.max(...runs.map((x) => x.evs)))}) | ${n(mid.evs)} | ${Math.round(mid.rss / 2 ** 20)} MB | ${Math.round(mid.requests / (mid.ms / 1000))} requests/s (${mid.requests} requests); ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) of the plum source's events/s, interleaved | ≥ 50,000 events/s: ${mid.evs >= 50_000 ? 'met' : '**not met**'} |`,
  ];
}
