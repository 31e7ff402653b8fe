import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { CallGenerator, corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry, type CallEvent } from '@plumline/core';
import { arraySource, memorySink } from '@plumline/core/testing';
import { kafkaSink } from './kafka-sink.js';

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
async function consume(topics: string[], count: number, timeoutMs = 30_000): Promise<Consumed[]> {
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
        out.push({ topic, partition, key: String(message.key), value: JSON.parse(String(message.value)) as CallEvent, headers });
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

async function run(sinkConfig: Record<string, unknown>, source: Record<string, unknown>, extra: { deadSink?: boolean } = {}) {
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

  it.each(['gzip', 'snappy'])('round-trips with %s compression through the broker', async (compression) => {
    const topic = unique(compression);
    await run({ topic, compression, create_topics: {} }, { count: 500 });
    const got = await consume([topic], 500);
    expect(got.map((r) => r.value)).toEqual(generated(500));
  });

  it('sends a record over the size limit to the dead-letter output with the reason, the rest to Kafka', async () => {
    const topic = unique('big');
    const small = generated(50);
    const huge = { ...small[10]!, id: 'huge-1', attributes: { blob: 'x'.repeat(1_500_000) } };
    const src = arraySource([small.slice(0, 20), [huge, ...small.slice(20)]]);
    const dlq = memorySink({ type: 'dlq' });
    const p = await createPipeline(
      { sources: { src: { type: 'array' } }, sinks: { kafka: { type: 'kafka', inputs: ['src'], brokers, topic, create_topics: {} }, dead: { type: 'dlq', inputs: ['dead_letter'] } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSink, src, dlq.plugin]), logger: createLogger({ level: 'silent' }), once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    const result = await p.done;
    expect(dlq.record.events).toHaveLength(1);
    expect(dlq.record.events[0]!.attributes).toMatchObject({ code: 'KAFKA_RECORD_TOO_LARGE', component: 'kafka' });
    expect((dlq.record.events[0]!.raw as CallEvent).id).toBe('huge-1');
    const got = await consume([topic], 50);
    expect(got.map((r) => r.value.id)).toEqual(small.map((e) => e.id));
    expect(result.stats.kafka!.deadLettered).toBe(1);
  });

  it('fails at start with a clear error when the topic does not exist and create_topics is not set', async () => {
    await expect(run({ topic: unique('absent') }, { count: 1 })).rejects.toMatchObject({ code: 'KAFKA_TOPIC_MISSING' });
  });

  it('survives the broker stopping and restarting mid-run: nothing lost, per-key order kept', { timeout: 120_000 }, async () => {
    const topic = unique('restart');
    const env = { ...process.env, KAFKA_PORT: brokers[0]!.split(':')[1]! };
    let finished = false;
    const pending = run({ topic, key: '{{kind}}', create_topics: { partitions: 2 } }, { count: 6000, batch_size: 100, rate: 1000 }).finally(() => (finished = true));
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
