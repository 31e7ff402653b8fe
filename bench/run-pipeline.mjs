// Runs one pipeline file in this process (as the CLI would) and reports time and peak RSS.
import { readFileSync } from 'node:fs';
import { createLogger, createPipeline, MemoryStateStore } from '../packages/core/dist/index.js';
// The plugin packages the file names, as the plumline command loads them (not every package).
import { registryForFile } from '../packages/cli/dist/plugins-for-pipeline.js';

const [file, countText] = process.argv.slice(2);
const p = await createPipeline(readFileSync(file, 'utf8'), {
  plugins: await registryForFile(file),
  logger: createLogger({ level: 'warn' }),
  once: true,
  stateStore: process.env.BENCH_STATE === 'memory' ? new MemoryStateStore() : undefined,
  file,
});
const started = performance.now();
const cpu0 = process.cpuUsage();
await p.start();
const result = await p.done;
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const firstSource = Object.keys(result.checkpoints)[0];
process.stdout.write(
  JSON.stringify({ events: result.stats[firstSource].eventsOut || Number(countText), ms, cpuMs: (cpu.user + cpu.system) / 1000, cpuSec: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024, failedTenants: result.failedTenants, stats: result.stats }) + '\n',
);
