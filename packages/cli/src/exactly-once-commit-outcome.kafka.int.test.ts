import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createPipeline } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { kafkaDriversToTest } from '@plumline/kafka-client/testing';
import { builtinRegistry } from './registry.js';
import { KafkaFaultProxy } from './test-support/kafka-fault-proxy.js';
import { ownBroker } from './test-support/own-broker.js';
import { readCommitted } from './test-support/read-committed.js';

/** The proxy's port, beside the broker's own (scripts/kafka.sh KAFKA_PROXIED_PORT). */
const PROXY_OFFSET = 8;
const { brokers: DIRECT, port, control: broker } = ownBroker(39492, (p) => ({ KAFKA_PROXIED_PORT: String(p + PROXY_OFFSET) }));
const BROKERS = [`127.0.0.1:${port + PROXY_OFFSET}`];

const EVENTS = 50_000;
const SEED = 91;
/** Where each outage cuts the commit: after the broker took it, or before it reached the broker. */
const CUTS = ['after', 'before', 'after', 'before'] as const;

/**
 * The broker goes away at a transaction's commit: after taking it (it commits; the answer is lost)
 * or before (it never commits). The client cannot tell which. Sending the batch again as a new
 * transaction when it had landed writes it twice — what a 30 s broker stop did to one 250-event
 * batch in some runs of exactly-once-faults (the stop had to fall between the commit and its
 * answer); taking it as written when it had not loses it. Here a proxy makes both happen on cue.
 */
describe('exactly-once when a commit\'s outcome is unknown (dedicated broker behind a fault proxy; Java read_committed reader)', () => {
  const proxy = new KafkaFaultProxy(port + PROXY_OFFSET, port + 4);
  beforeAll(async () => {
    broker('up');
    await proxy.start();
  }, 180_000);
  afterAll(async () => {
    await proxy.close();
    broker('down');
  }, 120_000);

  it.each(kafkaDriversToTest())(`driver %s: the broker is gone for 6 s from a commit, ${CUTS.length} times, after taking it (the answer lost) or before: every event exactly once`, { timeout: 300_000 }, async (driver) => {
    const suffix = `${driver}-${Date.now().toString(36)}`;
    const topic = `eos-lost-${suffix}`;
    const p = await createPipeline(
      {
        id: `eos-lost-${suffix}`,
        state: { type: 'kafka', brokers: BROKERS, topic: `state-${suffix}`, driver },
        runtime: { commit_interval: '200ms' },
        sources: { gen: { type: 'generate', seed: SEED, count: EVENTS, rate: 2000, batch_size: 250, duplicate_ratio: 0.1 } },
        transforms: { unique: { type: 'dedupe', inputs: ['gen'] } },
        sinks: { kafka: { type: 'kafka', inputs: ['unique'], brokers: BROKERS, topic, exactly_once: true, create_topics: { partitions: 3 }, driver } },
      },
      { plugins: builtinRegistry(), once: true, logger: createLogger({ level: 'silent' }) },
    );
    const cutBefore = proxy.cut;
    try {
      await p.start();
      for (const [i, when] of CUTS.entries()) {
        await expect.poll(() => p.stats().kafka?.eventsOut ?? 0, { timeout: 60_000 }).toBeGreaterThan(((i + 1) * EVENTS) / (CUTS.length + 2));
        await proxy.cutAtNextCommit(when, 6_000);
      }
      await p.done;
    } finally {
      await p.stop().catch(() => {});
    }
    expect(proxy.cut - cutBefore).toBe(CUTS.length);

    const records = await readCommitted(DIRECT, [topic]);
    const ids = records.map((r) => (JSON.parse(r.value) as { id: string }).id);
    const gen = new CallGenerator({ seed: SEED, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.1, source: 'gen' });
    const expected = new Set<string>();
    for (let i = 0; i < EVENTS; i++) expected.add(gen.event(i).id);
    const distinct = new Set(ids);
    const missing = [...expected].filter((id) => !distinct.has(id)).length;
    expect({ duplicated: ids.length - distinct.size, missing, count: ids.length }).toEqual({ duplicated: 0, missing: 0, count: expected.size });
  });
});
