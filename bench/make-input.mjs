// Writes N generated call events as NDJSON (10% repeat a recent event), for the stdin benchmarks.
import { createWriteStream } from 'node:fs';
import { CallGenerator } from '../packages/core/dist/sources/index.js';

export async function makeInput(path, count) {
  const gen = new CallGenerator({ seed: 42, startMs: Date.parse('2026-11-01T00:00:00Z'), spacingMs: 250, duplicateRatio: 0.1, source: 'bench' });
  const out = createWriteStream(path);
  let buf = '';
  for (let i = 0; i < count; i++) {
    buf += JSON.stringify(gen.event(i)) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise((r) => out.end(r));
}
