import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { corePlugins, createLogger, createPipeline, defineOperator, mapEvents, MemoryStateStore, PluginRegistry, z, type CallEvent, type PipelineResult } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { arraySource, memorySink } from '@plumline/core/testing';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { kafkaSink } from './kafka-sink.js';
import { RegistryEmulator } from '@plumline/kafka-client/emulator';
import { fromAvroRecord, kafkaStatePlugin } from '@plumline/kafka-client';
import { kafkaDriversToTest } from '@plumline/kafka-client/testing';

const brokers = inject('kafkaBrokers');
const kafka = new kafkajs.Kafka({ clientId: 'test-consumer', brokers, logLevel: kafkajs.logLevel.NOTHING });
const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

interface Consumed {
  topic: string;
  partition: number;
  key: string;
  value: CallEvent;
  headers: Record<string, string>;
}

/** Reads `topics` from the beginning with an independent consumer until `count` records arrived (or times out). */
async function consume(topics: string[], count: number, timeoutMs = 30_000, decode: (value: Buffer) => Promise<CallEvent> = async (v) => JSON.parse(String(v)) as CallEvent): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId: unique('check'), readUncommitted: false });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  const out: Consumed[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`consumed ${out.length} of ${count}`)), timeoutMs);
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({ topic, partition, key: String(message.key), value: await decode(message.value!), headers });
        if (out.length >= count) {
          clearTimeout(t);
          resolve();
        }
      },
    });
  });
  // Anything beyond `count` would be a duplicate: give it a moment to show up.
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return out;
}

async function run(sinkConfig: Record<string, unknown>, source: Record<string, unknown>, extra: { deadSink?: boolean } = {}): Promise<{ result: PipelineResult; dead: CallEvent[] }> {
  const dlq = memorySink({ type: 'dlq' });
  const p = await createPipeline(
    {
      sources: { gen: { type: 'generate', ...source } },
      sinks: { kafka: { type: 'kafka', inputs: ['gen'], brokers, ...sinkConfig }, ...(extra.deadSink ? { dead: { type: 'dlq', inputs: ['dead_letter'] } } : {}) },
    },
    { plugins: new PluginRegistry([...corePlugins, kafkaSink, dlq.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() },
  );
  await p.start();
  const result = await p.done;
  return { result, dead: dlq.record.events };
}

const generated = (n: number, seed = 1, source = 'gen') => {
  const g = new CallGenerator({ seed, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source });
  return Array.from({ length: n }, (_, i) => g.event(i));
};

describe('kafka sink (real broker)', () => {
  it.each(kafkaDriversToTest())('driver %s: sends what is over the broker\'s message.max.bytes per partition as several requests: an exactly-once group of many batches of 1,000, and 600 KB records', { timeout: 120_000 }, async (driver) => {
    const prefix = unique('big');
    const p = await createPipeline(
      {
        id: prefix,
        state: { type: 'kafka', brokers, topic: `${prefix}-state`, driver },
        sources: { gen: { type: 'generate', count: 30_000, batch_size: 1000 } },
        sinks: { kafka: { type: 'kafka', inputs: ['gen'], brokers, topic: `${prefix}.eos`, exactly_once: true, create_topics: { partitions: 1 }, driver } },
      },
      { plugins: new PluginRegistry([...corePlugins, kafkaSink, kafkaStatePlugin]), logger: createLogger({ level: 'silent' }), once: true },
    );
    await p.start();
    await p.done;
    expect((await consume([`${prefix}.eos`], 30_000, 60_000)).length).toBe(30_000);
    const large = { ...generated(1)[0]!, attributes: { blob: 'x'.repeat(600_000) } };
    const src = arraySource([[{ ...large, id: 'l1' }, { ...large, id: 'l2' }, { ...large, id: 'l3' }]], 'array_large');
    const q = await createPipeline(
      { sources: { src: { type: 'array_large' } }, sinks: { kafka: { type: 'kafka', inputs: ['src'], brokers, topic: `${prefix}.large`, create_topics: { partitions: 1 }, driver } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSink, src]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() },
    );
    await q.start();
    await q.done;
    expect((await consume([`${prefix}.large`], 3)).map((r) => r.value.id)).toEqual(['l1', 'l2', 'l3']);
  });

  it('dead-letters per event a topic Kafka would refuse (KAFKA_TOPIC_INVALID) and a missing template field (KAFKA_TEMPLATE_FIELD_MISSING), and writes the rest', async () => {
    const prefix = unique('tpl');
    const events = generated(300);
    // Only errors carry attributes.message, and a message has spaces: not a topic name.
    const withMessage = events.filter((e) => e.attributes.message !== undefined);
    const without = events.filter((e) => e.attributes.message === undefined);
    expect(withMessage.length).toBeGreaterThan(0);
    const strict = await run({ topic: `${prefix}.{{attributes.message}}`, create_topics: {} }, { count: 300, batch_size: 100 }, { deadSink: true });
    const codes = (d: typeof strict.dead) => d.map((x) => `${String(x.attributes.code)} ${(x.raw as CallEvent).id}`).sort();
    expect(codes(strict.dead)).toEqual([...without.map((e) => `KAFKA_TEMPLATE_FIELD_MISSING ${e.id}`), ...withMessage.map((e) => `KAFKA_TOPIC_INVALID ${e.id}`)].sort());
    // With missing_field the events without the field go to the fallback topic; the invalid ones still to the dead letters.
    const fallback = await run({ topic: `${prefix}.{{attributes.message}}`, missing_field: 'no-message', create_topics: {} }, { count: 300, batch_size: 100 }, { deadSink: true });
    expect(codes(fallback.dead)).toEqual(withMessage.map((e) => `KAFKA_TOPIC_INVALID ${e.id}`).sort());
    const got = await consume([`${prefix}.no-message`], without.length);
    expect(got.map((r) => r.value.id).sort()).toEqual(without.map((e) => e.id).sort());
  });

  it('writes every event once to templated topics, with templated keys and headers', async () => {
    const prefix = unique('calls');
    await run({ topic: `${prefix}.{{kind}}`, key: '{{id}}', headers: { tenant: 'acme', dir: '{{direction}}' }, create_topics: { partitions: 3 } }, { count: 3000, batch_size: 250 });
    const kinds = ['session', 'call', 'error'];
    const got = await consume(kinds.map((k) => `${prefix}.${k}`), 3000);
    expect(got).toHaveLength(3000);
    const expected = generated(3000);
    expect(got.map((r) => r.value.id).sort()).toEqual(expected.map((e) => e.id).sort());
    for (const r of got) {
      expect(r.topic).toBe(`${prefix}.${r.value.kind}`);
      expect(r.key).toBe(r.value.id);
      expect(r.headers).toEqual({ source: 'gen', kind: r.value.kind, schema_version: '1', tenant: 'acme', dir: r.value.direction });
    }
    // Per partition, records keep the order they were generated in.
    const byPartition = new Map<string, number[]>();
    for (const r of got) byPartition.set(`${r.topic}/${r.partition}`, [...(byPartition.get(`${r.topic}/${r.partition}`) ?? []), r.value.attributes.index as number]);
    for (const seq of byPartition.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'])('round-trips with %s compression through the broker', async (compression) => {
    const topic = unique(compression);
    await run({ topic, compression, create_topics: {} }, { count: 500 });
    const got = await consume([topic], 500);
    expect(got.map((r) => r.value)).toEqual(generated(500));
  });

  // The broker re-compresses into the topic's codec with the Java libraries: our codecs must read those bytes too.
  it.each(['snappy', 'lz4', 'zstd'])('reads batches the broker compressed itself with %s', async (codec) => {
    const topic = unique(`broker-${codec}`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'compression.type', value: codec }] }] });
    await admin.disconnect();
    await run({ topic, compression: 'gzip' }, { count: 2000, batch_size: 1000 });
    const got = await consume([topic], 2000);
    expect(got.map((r) => r.value)).toEqual(generated(2000));
  });

  it.each([
    ['avro', (v: unknown) => fromAvroRecord(v as Record<string, unknown>)],
    ['json_schema', (v: unknown) => v as CallEvent],
  ] as const)('writes %s through a schema registry: registered once, decodable by an independent consumer', async (encoding, toEvent) => {
    const registry = new RegistryEmulator();
    const url = await registry.start();
    try {
      const topic = unique(encoding);
      const sink = { topic, encoding, schema_registry: { url }, create_topics: {} };
      await run(sink, { count: 300, batch_size: 100 });
      await run(sink, { count: 300, batch_size: 100, seed: 2 });
      // The same schema under the same subject: one version, however many batches and runs.
      expect(registry.versions(`${topic}-value`)).toEqual([1]);
      const reader = new SchemaRegistry({ host: url });
      const got = await consume([topic], 600, 30_000, async (v) => toEvent(await reader.decode(v)));
      expect(got.map((r) => r.value)).toEqual([...generated(300), ...generated(300, 2)]);
    } finally {
      await registry.stop();
    }
  });

  it('dead-letters an event that does not fit the registered schema, and fails at start when the registry refuses the schema', async () => {
    const registry = new RegistryEmulator();
    const url = await registry.start();
    try {
      const topic = unique('badschema');
      const good = generated(20);
      const bad = { ...good[5]!, id: 'bad-1' };
      const src = arraySource([[...good.slice(0, 10), bad, ...good.slice(10)]]);
      const dlq = memorySink({ type: 'dlq' });
      // Sources' events are checked where they enter; a custom operator can still spoil one after that.
      const spoil = defineOperator({ type: 'spoil', description: 'sets a direction the schema refuses', configSchema: z.strictObject({}), create: () => ({ apply: mapEvents((e) => (e.id === 'bad-1' ? { ...e, direction: 'sideways' as 'inbound' } : e)) }) });
      const p = await createPipeline(
        { sources: { src: { type: 'array' } }, transforms: { spoiled: { type: 'spoil', inputs: ['src'] } }, sinks: { kafka: { type: 'kafka', inputs: ['spoiled'], brokers, topic, encoding: 'json_schema', schema_registry: { url }, create_topics: {} }, dead: { type: 'dlq', inputs: ['dead_letter'] } } },
        { plugins: new PluginRegistry([...corePlugins, kafkaSink, src, spoil, dlq.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() },
      );
      await p.start();
      await p.done;
      expect(dlq.record.events.map((e) => [e.attributes.code, (e.raw as CallEvent).id])).toEqual([['KAFKA_ENCODING_FAILED', 'bad-1']]);
      const reader = new SchemaRegistry({ host: url });
      const got = await consume([topic], 20, 30_000, async (v) => (await reader.decode(v)) as CallEvent);
      expect(got.map((r) => r.value.id)).toEqual(good.map((e) => e.id));

      // An avro schema on a subject whose history it cannot read: the registry answers 409, the sink does not start.
      const clash = unique('clash');
      await fetch(`${url}/subjects/${clash}-value/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'n', type: 'int' }] }) }) });
      await fetch(`${url}/config/${clash}-value`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ compatibility: 'BACKWARD' }) });
      await expect(run({ topic: clash, encoding: 'avro', schema_registry: { url }, create_topics: {} }, { count: 1 })).rejects.toMatchObject({ code: 'KAFKA_SCHEMA_REGISTRY_FAILED', retriable: false });
    } finally {
      await registry.stop();
    }
  });

  it('sends a record over the size limit or not writable as JSON to the dead-letter output with the reason, the rest to Kafka', async () => {
    const topic = unique('big');
    const small = generated(50);
    const huge = { ...small[10]!, id: 'huge-1', attributes: { blob: 'x'.repeat(1_500_000) } };
    const bigint = { ...small[11]!, id: 'bigint-1', attributes: { n: 10n } } as unknown as CallEvent;
    const src = arraySource([small.slice(0, 20), [huge, ...small.slice(20, 30), bigint, ...small.slice(30)]]);
    const dlq = memorySink({ type: 'dlq' });
    const p = await createPipeline(
      { sources: { src: { type: 'array' } }, sinks: { kafka: { type: 'kafka', inputs: ['src'], brokers, topic, create_topics: {} }, dead: { type: 'dlq', inputs: ['dead_letter'] } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSink, src, dlq.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    const result = await p.done;
    expect(dlq.record.events.map((e) => [e.attributes.code, (e.raw as CallEvent).id])).toEqual([
      ['KAFKA_RECORD_TOO_LARGE', 'huge-1'],
      ['KAFKA_ENCODING_FAILED', 'bigint-1'],
    ]);
    expect(dlq.record.events[0]!.attributes).toMatchObject({ component: 'kafka' });
    const got = await consume([topic], 50);
    expect(got.map((r) => r.value.id)).toEqual(small.map((e) => e.id));
    expect(result.stats.kafka!.deadLettered).toBe(2);
  });

  it('fails at start with a clear error when the topic does not exist and create_topics is not set', async () => {
    await expect(run({ topic: unique('absent') }, { count: 1 })).rejects.toMatchObject({ code: 'KAFKA_TOPIC_MISSING' });
  });

  it.each(kafkaDriversToTest())('driver %s: survives the broker stopping and restarting mid-run: nothing lost, per-key order kept', { timeout: 120_000 }, async (driver) => {
    const topic = unique('restart');
    const env = { ...process.env, KAFKA_PORT: brokers[0]!.split(':')[1]! };
    let finished = false;
    const pending = run({ topic, key: '{{kind}}', create_topics: { partitions: 2 }, driver }, { count: 6000, batch_size: 100, rate: 1000 }).finally(() => (finished = true));
    await new Promise((r) => setTimeout(r, 1500));
    execFileSync('bash', [SCRIPT, 'stop'], { env, stdio: 'ignore' });
    // The outage really falls in the middle of the run.
    expect(finished).toBe(false);
    await new Promise((r) => setTimeout(r, 2500));
    execFileSync('bash', [SCRIPT, 'start'], { env, stdio: 'ignore' });
    const { result } = await pending;
    expect(result.stats.kafka!.eventsOut).toBe(6000);
    const got = await consume([topic], 6000, 60_000);
    const ids = new Set(got.map((r) => r.value.id));
    expect(ids).toEqual(new Set(generated(6000).map((e) => e.id)));
    // Per key (kind), first sightings come in generation order even across retries.
    const seen = new Set<string>();
    const perKey = new Map<string, number[]>();
    for (const r of got) {
      if (seen.has(r.value.id)) continue;
      seen.add(r.value.id);
      perKey.set(r.key, [...(perKey.get(r.key) ?? []), r.value.attributes.index as number]);
    }
    for (const seq of perKey.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });
});
