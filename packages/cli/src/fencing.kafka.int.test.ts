import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CallGenerator } from '@plumline/core/sources';
import { tmpDir } from '@plumline/core/testing';
import { kafkaDriversToTest } from '@plumline/kafka-client/testing';
import { CLI_BIN } from './test-support/run-cli.js';
import { readCommitted } from './test-support/read-committed.js';

const EVENTS = 30_000;
const SEED = 31;

/** A running `plumline run`: its stderr so far, when a line matching a pattern appeared, and how it ended. */
function worker(dir: string) {
  const child = spawn(process.execPath, [CLI_BIN, 'run', 'p.yaml', '--once', '--log-level', 'info'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const waiters: { re: RegExp; resolve: (t: number) => void }[] = [];
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.splice(0)) if (w.re.test(stderr)) w.resolve(Date.now());
    else waiters.push(w);
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return {
    stderr: () => stderr,
    exited,
    /** Resolves with the time the first line matching `re` appeared. */
    line: (re: RegExp) => new Promise<number>((resolve) => (re.test(stderr) ? resolve(Date.now()) : waiters.push({ re, resolve }))),
    kill: () => child.kill('SIGKILL'),
  };
}

describe('fencing between workers of one exactly-once pipeline (real broker, two processes)', () => {
  it.each(kafkaDriversToTest())('driver %s: a second worker takes over while the first writes: the first stops with STATE_FENCED within 5 s, the second finishes, each id is in the topic once', { timeout: 180_000 }, async (driver) => {
    const brokers = inject('kafkaBrokers');
    const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const topic = `fence-${suffix}`;
    const yaml = `id: fence-${suffix}
state: { type: kafka, brokers: ${JSON.stringify(brokers)}, topic: state-${suffix}, driver: ${driver} }
sources:
  gen: { type: generate, seed: ${SEED}, count: ${EVENTS}, batch_size: 100, rate: 3000, duplicate_ratio: 0.1 }
transforms:
  unique: { type: dedupe, inputs: [gen] }
sinks:
  kafka: { type: kafka, inputs: [unique], brokers: ${JSON.stringify(brokers)}, topic: ${topic}, exactly_once: true, create_topics: { partitions: 2 }, driver: ${driver} }
`;
    const a = await tmpDir('plumline-fence-a-');
    const b = await tmpDir('plumline-fence-b-');
    try {
      await writeFile(join(a.dir, 'p.yaml'), yaml);
      await writeFile(join(b.dir, 'p.yaml'), yaml);
      const first = worker(a.dir);
      await first.line(/first checkpoint committed/);
      const second = worker(b.dir);
      const tookOver = await Promise.race([second.line(/took over pipeline/), second.exited.then(() => Number.NaN)]);
      expect(tookOver, second.stderr()).not.toBeNaN();
      const endA = await Promise.race([first.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
      if (!endA) first.kill();
      expect(endA?.code, first.stderr().slice(-2000)).toBe(1);
      expect(first.stderr()).toContain('STATE_FENCED');
      const fencedAfterMs = endA!.at - tookOver;
      console.log(`fencing, driver ${driver}: the first worker stopped ${fencedAfterMs} ms after the second took over`);
      expect(fencedAfterMs).toBeLessThan(5_000);
      const endB = await second.exited;
      expect(endB.code, second.stderr().slice(-2000)).toBe(0);

      const ids = (await readCommitted(brokers, [topic])).map((r) => (JSON.parse(r.value) as { id: string }).id);
      const gen = new CallGenerator({ seed: SEED, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.1, source: 'gen' });
      const expected = new Set<string>();
      for (let i = 0; i < EVENTS; i++) expected.add(gen.event(i).id);
      expect(ids.length - new Set(ids).size).toBe(0);
      expect([...ids].sort()).toEqual([...expected].sort());
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });
});
