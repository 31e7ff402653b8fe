import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { CallGenerator } from '@plumline/core';
import { tmpDir } from '../../core/src/test-support/tmp-dir.js';
import { runWithRandomKills } from './test-support/run-cli.js';

const brokers = inject('kafkaBrokers');
const EVENTS = 4000;
const KILLS = 20;


async function readCommitted(topic: string, atLeast: number): Promise<string[]> {
  const kafka = new kafkajs.Kafka({ clientId: 'eos-check', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `eos-check-${Date.now()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const ids: string[] = [];
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      last = Date.now();
      ids.push((JSON.parse(String(message.value)) as { id: string }).id);
    },
  });
  const started = Date.now();
  while ((ids.length < atLeast || Date.now() - last < 1500) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return ids;
}

describe('exactly-once into Kafka (real broker, SIGKILL at random points)', () => {
  it(`a read-committed consumer sees every event exactly once after ${KILLS} kills`, { timeout: 300_000 }, async () => {
    const { dir, cleanup } = await tmpDir('plumline-eos-');
    const suffix = Date.now().toString(36);
    const topic = `eos-${suffix}`;
    try {
      await writeFile(
        join(dir, 'p.yaml'),
        `id: eos-${suffix}
state: { type: kafka, brokers: ${JSON.stringify(brokers)}, topic: state-${suffix} }
runtime: { max_in_flight_batches: 4 }
sources:
  gen: { type: generate, seed: 5, count: ${EVENTS}, batch_size: 50, rate: 1500 }
sinks:
  kafka: { type: kafka, inputs: [gen], brokers: ${JSON.stringify(brokers)}, topic: ${topic}, exactly_once: true, state_topic: state-${suffix}, create_topics: { partitions: 2 } }
`,
      );
      const kills = await runWithRandomKills(dir, { attempts: KILLS, minMs: 1200, spreadMs: 2500, logLevel: 'error', stopWhenDone: true });
      const gen = new CallGenerator({ seed: 5, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
      const expected = Array.from({ length: EVENTS }, (_, i) => gen.event(i).id).sort();
      const ids = await readCommitted(topic, EVENTS);
      expect(ids.length).toBe(EVENTS);
      expect([...ids].sort()).toEqual(expected);
      expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 10));
    } finally {
      await cleanup();
    }
  });
});
