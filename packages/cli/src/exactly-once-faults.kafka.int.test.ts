import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createPipeline, type Pipeline } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { installPrometheus, OpsServer } from './ops-server.js';
import { kafkaDriversToTest } from '@plumline/kafka-client/testing';
import { builtinRegistry } from './registry.js';
import { ownBroker } from './test-support/own-broker.js';
import { readCommitted } from './test-support/read-committed.js';

/** A broker of its own: this test stops, pauses and kills it, which other test files must not feel. */
const { brokers: BROKERS, control: broker } = ownBroker(39292);

const EVENTS = 300_000;
const RATE = 5000;
const SEED = 77;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds from now until the sink wrote more events than it had; fails after `limitMs`. */
async function secondsToProgress(p: Pipeline, limitMs: number): Promise<number> {
  const before = p.stats().kafka!.eventsOut;
  const t0 = Date.now();
  while (p.stats().kafka!.eventsOut <= before) {
    if (Date.now() - t0 > limitMs) throw new Error(`no progress within ${limitMs} ms of the broker's return (stuck at ${before})`);
    await sleep(100);
  }
  return (Date.now() - t0) / 1000;
}

describe('exactly-once through broker faults (dedicated broker; independent Java read_committed reader)', () => {
  beforeAll(() => broker('up'), 180_000);
  afterAll(() => broker('down'), 120_000);

  it.each(kafkaDriversToTest())(`driver %s: broker stop 30 s, pause 20 s and kill -9 during one run of ${EVENTS} events: 0 lost, 0 duplicated, progress within 10 s of each return, /readyz back to 200, order per partition kept`, { timeout: 600_000 }, async (driver) => {
    const ops = new OpsServer(installPrometheus());
    const base = await ops.start('127.0.0.1:0');
    const suffix = Date.now().toString(36);
    const topic = `eos-faults-${suffix}`;
    const p = await createPipeline(
      {
        id: `eos-faults-${suffix}`,
        state: { type: 'kafka', brokers: BROKERS, topic: `state-${suffix}`, driver },
        runtime: { stall_timeout: '2s', commit_interval: '500ms' },
        sources: { gen: { type: 'generate', seed: SEED, count: EVENTS, rate: RATE, batch_size: 250, duplicate_ratio: 0.1 } },
        transforms: { unique: { type: 'dedupe', inputs: ['gen'] } },
        sinks: { kafka: { type: 'kafka', inputs: ['unique'], brokers: BROKERS, topic, exactly_once: true, create_topics: { partitions: 3 }, driver } },
      },
      { plugins: builtinRegistry(), once: true, logger: createLogger({ level: 'silent' }) },
    );
    ops.attach(p);
    const status = async () => (await fetch(`${base}/readyz`)).status;
    const recoveries: Record<string, number> = {};
    try {
      await p.start();
      await expect.poll(() => p.stats().kafka?.eventsOut ?? 0, { timeout: 60_000 }).toBeGreaterThan(10_000);
      for (const [fault, down, up, outageMs] of [
        ['stop 30 s', 'stop', 'start', 30_000],
        ['pause 20 s', 'pause', 'resume', 20_000],
        ['kill -9', 'kill', 'start', 5_000],
      ] as const) {
        broker(down);
        await expect.poll(status, { timeout: 30_000, interval: 250 }).toBe(503);
        await sleep(outageMs);
        broker(up);
        recoveries[fault] = await secondsToProgress(p, 10_000);
        await expect.poll(status, { timeout: 10_000, interval: 250 }).toBe(200);
        await sleep(3_000);
      }
      await p.done;
    } finally {
      await p.stop().catch(() => {});
      await ops.close();
    }
    console.log(`exactly-once faults, driver ${driver}: progress resumed after ${JSON.stringify(recoveries)} s`);

    const records = await readCommitted(BROKERS, [topic]);
    const got = records.map((r) => JSON.parse(r.value) as { id: string; time: string });
    const gen = new CallGenerator({ seed: SEED, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.1, source: 'gen' });
    const expected = new Set<string>();
    for (let i = 0; i < EVENTS; i++) expected.add(gen.event(i).id);
    const ids = got.map((e) => e.id);
    const distinct = new Set(ids);
    const duplicated = ids.length - distinct.size;
    const missing = [...expected].filter((id) => !distinct.has(id)).length;
    expect({ duplicated, missing, count: ids.length }).toEqual({ duplicated: 0, missing: 0, count: expected.size });
    // Per partition, records keep the order they were generated in: a retried transaction never overtakes.
    const byPartition = new Map<number, string[]>();
    records.forEach((r, i) => {
      const times = byPartition.get(r.partition) ?? [];
      times.push(got[i]!.time);
      byPartition.set(r.partition, times);
    });
    for (const times of byPartition.values()) expect(times).toEqual([...times].sort());
  });
});
