import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { corePlugins, createLogger, createPipeline, defineSink, MemoryStateStore, PluginRegistry, z, type CallEvent, type Pipeline, type StateStore } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { kafkaSource } from './kafka-source.js';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { RegistryEmulator } from '@plumline/kafka-client/emulator';
import { EVENT_AVRO_SCHEMA, EVENT_JSON_SCHEMA, toAvroRecord } from '@plumline/kafka-client';

const brokers = inject('kafkaBrokers');
const kafka = new kafkajs.Kafka({ clientId: 'test-producer', brokers, logLevel: kafkajs.logLevel.NOTHING });
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

const event = (i: number): CallEvent => ({ id: `c${i}`, source: 'plum', kind: 'call', time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), attributes: { n: i } });

/** Writes records to `topic` with a plain kafkajs producer (keys spread them over the partitions). */
async function produce(topic: string, values: (string | null)[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < values.length; i += 1000) {
    await producer.send({ topic, messages: values.slice(i, i + 1000).map((value, j) => ({ key: `k${i + j}`, value })) });
  }
  await producer.disconnect();
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

/** Starts a pipeline kafka source → memory sink (+ dead letters), each with its own in-memory state unless one is given. */
async function start(config: Record<string, unknown>, stateStore: StateStore = new MemoryStateStore()) {
  const out = memorySink({ type: 'out' });
  const dead = memorySink({ type: 'dead' });
  const pipeline = await createPipeline(
    {
      runtime: { commit_interval: '200ms' },
      sources: { in: { type: 'kafka', brokers, ...config } },
      sinks: { out: { type: 'out', inputs: ['in'] }, dead: { type: 'dead', inputs: ['dead_letter'] } },
    },
    { plugins: new PluginRegistry([...corePlugins, kafkaSource, out.plugin, dead.plugin]), logger: createLogger({ level: 'silent' }), stateStore },
  );
  await pipeline.start();
  return { pipeline, out: out.record, dead: dead.record };
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ids = (events: CallEvent[]) => events.map((e) => e.id);

describe('kafka source (real broker)', () => {
  it('reads every record of every partition once, dead-letters what is not a CallEvent with its topic, partition and offset, and leaves the group offsets where it stopped', { timeout: 120_000 }, async () => {
    const topic = unique('src');
    const group = unique('group');
    await createTopic(topic, 3);
    const first = Array.from({ length: 2000 }, (_, i) => event(i));
    await produce(topic, [...first.map((e) => JSON.stringify(e)), 'not json {', JSON.stringify({ id: 'x' }), null]);
    const a = await start({ topics: [topic], group_id: group });
    await until('the first run', () => a.out.events.length >= 2000 && a.dead.events.length >= 3);
    // Read to the end: every partition's backlog is 0.
    expect(a.pipeline.stats().in!.backlog).toEqual({ [`${topic}/0`]: 0, [`${topic}/1`]: 0, [`${topic}/2`]: 0 });
    await a.pipeline.stop();
    expect(ids(a.out.events).sort()).toEqual(ids(first).sort());
    const codes = a.dead.events.map((d) => d.attributes.code).sort();
    expect(codes).toEqual(['KAFKA_RECORD_INVALID', 'KAFKA_RECORD_UNDECODABLE', 'KAFKA_RECORD_UNDECODABLE']);
    for (const d of a.dead.events) expect(d.raw).toMatchObject({ topic, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) });

    // A new worker of the group with no state of its own starts where the group's offsets say:
    // the committed checkpoint was mirrored there, so it reads only what came since.
    const later = Array.from({ length: 500 }, (_, i) => event(10_000 + i));
    await produce(topic, later.map((e) => JSON.stringify(e)));
    const b = await start({ topics: [topic], group_id: group });
    await until('the second run', () => b.out.events.length >= 500);
    await new Promise((r) => setTimeout(r, 1000));
    await b.pipeline.stop();
    expect(ids(b.out.events).sort()).toEqual(ids(later).sort());
    expect(b.dead.events).toEqual([]);
  });

  it('resumes from its stored checkpoint past the group offsets, and reads topics by pattern', { timeout: 120_000 }, async () => {
    const topic = unique('pat');
    await createTopic(topic, 2);
    const events = Array.from({ length: 600 }, (_, i) => event(i));
    await produce(topic, events.slice(0, 300).map((e) => JSON.stringify(e)));
    const state = new MemoryStateStore();
    const a = await start({ topic_pattern: `^${topic}$`, group_id: unique('g') }, state);
    await until('the first 300', () => a.out.events.length >= 300);
    await a.pipeline.stop();
    await produce(topic, events.slice(300).map((e) => JSON.stringify(e)));
    // Another group (no offsets at all) with the same state: the checkpoint alone says where to go on.
    const b = await start({ topic_pattern: `^${topic}$`, group_id: unique('g') }, state);
    await until('the next 300', () => b.out.events.length >= 300);
    await new Promise((r) => setTimeout(r, 1000));
    await b.pipeline.stop();
    expect(ids(b.out.events).sort()).toEqual(ids(events.slice(300)).sort());
  });

  it('moves the group offsets only over records every sink acknowledged', { timeout: 120_000 }, async () => {
    const topic = unique('held');
    const group = unique('g');
    await createTopic(topic, 1);
    await produce(topic, Array.from({ length: 500 }, (_, i) => JSON.stringify(event(i))));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let written = 0;
    const held = defineSink({
      type: 'held',
      description: 'acknowledges nothing until the gate opens',
      configSchema: z.strictObject({}),
      create: () => ({
        maxInFlight: 1,
        async write(batch) {
          await gate;
          written += batch.events.length;
        },
        async close() {},
      }),
    });
    const p = await createPipeline(
      { runtime: { commit_interval: '100ms', max_in_flight_batches: 20 }, sources: { in: { type: 'kafka', brokers, topics: [topic], group_id: group, max_batch_events: 50 } }, sinks: { out: { type: 'held', inputs: ['in'] } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSource, held]), logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
    );
    await p.start();
    const admin = kafka.admin();
    await admin.connect();
    const groupOffset = async () => Number((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions[0]!.offset);
    try {
      // Every record read and handed on (so kafkajs's fetch of them ended), none acknowledged.
      await until('pages in flight', () => (p.stats().in?.eventsOut ?? 0) >= 500);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await groupOffset()).toBe(-1);
      open();
      await until('everything written', () => written >= 500);
      const deadline = Date.now() + 30_000;
      while ((await groupOffset()) !== 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await groupOffset()).toBe(500);
    } finally {
      open();
      await p.stop();
      await admin.disconnect();
    }
  });

  it('with stop_at_end, ends at the end of a topic written in transactions (its last offsets are commit markers), having read every committed record and no aborted one', { timeout: 120_000 }, async () => {
    const topic = unique('txn');
    await createTopic(topic, 2);
    const producer = kafka.producer({ transactionalId: unique('txn-producer'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed: CallEvent[] = [];
    for (let t = 0; t < 4; t++) {
      const tx = await producer.transaction();
      const batch = Array.from({ length: 50 }, (_, i) => event(t * 50 + i));
      await tx.send({ topic, messages: batch.map((e) => ({ key: e.id, value: JSON.stringify(e) })) });
      // The third transaction is aborted: its records stay in the log, never to be read.
      if (t === 2) await tx.abort();
      else {
        await tx.commit();
        committed.push(...batch);
      }
    }
    await producer.disconnect();
    const { pipeline, out } = await start({ topics: [topic], group_id: unique('g'), stop_at_end: true });
    await pipeline.done;
    expect(ids(out.events).sort()).toEqual(ids(committed).sort());
  });

  it('fails with KAFKA_TOPIC_MISSING when its topic is deleted while it runs, instead of waiting for it for ever', { timeout: 120_000 }, async () => {
    const topic = unique('deleted');
    await createTopic(topic, 2);
    await produce(topic, Array.from({ length: 100 }, (_, i) => JSON.stringify(event(i))));
    const a = await start({ topics: [topic], group_id: unique('g') });
    await until('the records', () => a.out.events.length >= 100);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    const code = await Promise.race([
      a.pipeline.done.then(
        () => 'ended without error',
        (err: { code?: string }) => err.code,
      ),
      new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000)),
    ]);
    await a.pipeline.stop().catch(() => {});
    expect(code).toBe('KAFKA_TOPIC_MISSING');
  });

  it.each(['avro', 'json_schema'] as const)('decodes %s in Confluent\'s wire format through the schema registry, and dead-letters a value without the wire header', { timeout: 120_000 }, async (encoding) => {
    const registry = new RegistryEmulator();
    const url = await registry.start();
    try {
      const topic = unique(encoding);
      await createTopic(topic, 2);
      // Written with the registry client alone, not with our sink.
      const client = new SchemaRegistry({ host: url });
      const { id } = await client.register(encoding === 'avro' ? { type: SchemaType.AVRO, schema: JSON.stringify(EVENT_AVRO_SCHEMA) } : { type: SchemaType.JSON, schema: JSON.stringify(EVENT_JSON_SCHEMA) }, { subject: `${topic}-value` });
      const events = Array.from({ length: 200 }, (_, i) => ({ ...event(i), from: '+14155550100', durationSec: i }));
      const producer = kafka.producer();
      await producer.connect();
      const values = await Promise.all(events.map((e) => client.encode(id, encoding === 'avro' ? toAvroRecord(e) : e)));
      await producer.send({ topic, messages: [...values.map((value, i) => ({ key: events[i]!.id, value })), { key: 'plain', value: JSON.stringify(event(999)) }] });
      await producer.disconnect();
      const a = await start({ topics: [topic], group_id: unique('g'), encoding, schema_registry: { url } });
      await until('the records', () => a.out.events.length >= 200 && a.dead.events.length >= 1);
      await a.pipeline.stop();
      const byId = (x: CallEvent, y: CallEvent) => x.id.localeCompare(y.id);
      expect([...a.out.events].sort(byId)).toEqual([...events].sort(byId));
      expect(a.dead.events.map((d) => d.attributes.code)).toEqual(['KAFKA_RECORD_UNDECODABLE']);
    } finally {
      await registry.stop();
    }
  });

  it('refuses a topic that does not exist (KAFKA_TOPIC_MISSING) and a broker it cannot reach (KAFKA_CONNECT_FAILED) at start', { timeout: 120_000 }, async () => {
    const codeOf = async (config: Record<string, unknown>) => {
      const plugins = new PluginRegistry([...corePlugins, kafkaSource, memorySink({ type: 'out' }).plugin]);
      const p: Pipeline = await createPipeline({ sources: { in: { type: 'kafka', ...config } }, sinks: { out: { type: 'out', inputs: ['in'] } } }, { plugins, logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() });
      await p.start().catch(() => {});
      return p.done.then(
        () => 'no error',
        (err: { code?: string }) => err.code,
      );
    };
    expect(await codeOf({ brokers, topics: [unique('absent')], group_id: unique('g') })).toBe('KAFKA_TOPIC_MISSING');
    expect(await codeOf({ brokers: ['127.0.0.1:1'], topics: ['t'], group_id: unique('g') })).toBe('KAFKA_CONNECT_FAILED');
  });
});
