// Runs generate → file for a while with a path that renders a new file every event-second,
// and prints what a long run must keep flat: heap after a full GC, active handles, open files.
//   node --expose-gc file-sink-soak.mjs <workDir> <durationMs>
// A child process of its own so that the heap it reports is the pipeline's, not a test runner's.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, createPipeline } from '@plumline/core';
import { builtinRegistry } from '@plumline/cli';

const [workDir, durationArg, rateArg] = process.argv.slice(2);
const durationMs = Number(durationArg);
const SAMPLE_MS = 2_000;
// 500 events/s, 100 ms apart in event time: 50 new paths per wall-clock second.
const rate = Number(rateArg ?? 500);

const pipeline = await createPipeline(
  {
    id: 'soak',
    state: { type: 'directory', path: join(workDir, 'state') },
    sources: { gen: { type: 'generate', seed: 5, rate, spacing: '100ms' } },
    sinks: { out: { type: 'file', inputs: ['gen'], path: join(workDir, 'out/%Y-%m-%d/%H/%M-%S.ndjson'), idle_timeout: '1s' } },
  },
  { plugins: builtinRegistry(), logger: createLogger({ level: 'warn' }) },
);
await pipeline.start();

async function openFds() {
  return (await readdir('/proc/self/fd')).length;
}

const samples = [];
const began = Date.now();
while (Date.now() - began < durationMs) {
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  globalThis.gc();
  samples.push({ tMs: Date.now() - began, heapUsed: process.memoryUsage().heapUsed, handles: process.getActiveResourcesInfo().length, fds: await openFds(), eventsOut: pipeline.stats().out?.eventsOut ?? 0 });
}
const result = await pipeline.stop();
process.stdout.write(JSON.stringify({ samples, written: result.stats.out.eventsOut }) + '\n');
