import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { freePort, waitHealthy } from './test-support/receiver-process.js';
import { CLI_BIN } from './test-support/run-cli.js';
import { readCommitted } from './test-support/read-committed.js';
import { seededRandom } from './test-support/seeded-random.js';

const SECRET = 'callback-secret-kafka';
const ROUNDS = 10;
const CONCURRENCY = 32;

const usage = (i: number) => ({ source: 'iPlum', recordId: `rec-${i}`, usage: 'text', type: 'external', from: '+14081231234', to: 'a@b.com', startTimeUTC: '2026-11-01T00:00:00Z', endTimeUTC: '2026-11-01T00:00:00Z', duration: '1', direction: 'in', iPlumCredits: 1, userId: 'a@b.com', content: `message ${i}` });

/**
 * Posts callbacks with CONCURRENCY in flight until `stop()`; every id answered 2xx goes into
 * `acknowledged`. A request the dying receiver never answers is simply not acknowledged.
 */
function load(port: number, acknowledged: Set<string>, next: { i: number }) {
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const i = next.i++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/iplum/callbacks`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-secret': SECRET }, body: JSON.stringify(usage(i)) });
        await res.arrayBuffer();
        if (res.status === 200) acknowledged.add(`iplum:rec-${i}`);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

describe('iplum_callbacks → kafka with acknowledge: delivered (real broker, SIGKILL under load, independent Java reader)', () => {
  it(`every callback answered 2xx is in the topic after ${ROUNDS} kills under load`, { timeout: 300_000 }, async () => {
    const brokers = inject('kafkaBrokers');
    const topic = `callbacks-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const { dir, cleanup } = await tmpDir('plumline-cb-kafka-');
    const acknowledged = new Set<string>();
    const next = { i: 0 };
    let kills = 0;
    try {
      const port = await freePort();
      await writeFile(
        join(dir, 'p.yaml'),
        `runtime: { commit_interval: 50ms }
sources:
  cb: { type: iplum_callbacks, listen: "127.0.0.1:${port}", auth: { header: { name: x-secret, value: "${SECRET}" } }, acknowledge: delivered, max_pending: 100000 }
sinks:
  out: { type: kafka, inputs: [cb], brokers: ${JSON.stringify(brokers)}, topic: ${topic}, create_topics: { partitions: 3 } }
`,
      );
      const start = (): ChildProcess => spawn(process.execPath, [CLI_BIN, 'run', 'p.yaml', '--log-level', 'warn'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
      const schedule = seededRandom('callbacks-to-kafka kills');
      for (let round = 0; round < ROUNDS; round++) {
        const child = start();
        await waitHealthy(port);
        const before = acknowledged.size;
        const loader = load(port, acknowledged, next);
        // Killed once it has answered some, at a random moment after.
        for (let i = 0; i < 400 && acknowledged.size - before < 50; i++) await new Promise((r) => setTimeout(r, 25));
        await new Promise((r) => setTimeout(r, schedule.between(0, 500)));
        const exited = new Promise((r) => child.once('exit', r));
        if (child.kill('SIGKILL')) kills++;
        await exited;
        await loader.stop();
      }
      const last = start();
      await waitHealthy(port);
      const loader = load(port, acknowledged, next);
      await new Promise((r) => setTimeout(r, 500));
      await loader.stop();
      const exited = new Promise((r) => last.once('exit', r));
      last.kill('SIGTERM');
      await exited;
      const inTopic = new Set((await readCommitted(brokers, [topic])).map((r) => (JSON.parse(r.value) as { id: string }).id));
      const lost = [...acknowledged].filter((id) => !inTopic.has(id));
      console.log(`callbacks → kafka: ${kills} kills under load, ${acknowledged.size} callbacks answered 2xx, ${inTopic.size} ids in the topic, ${lost.length} answered but missing`);
      expect(lost).toEqual([]);
      expect(kills).toBe(ROUNDS);
      expect(acknowledged.size).toBeGreaterThan(ROUNDS * 50);
    } finally {
      await cleanup();
    }
  });
});
