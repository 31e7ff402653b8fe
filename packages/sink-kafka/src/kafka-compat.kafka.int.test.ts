import { describe, expect, inject, it } from 'vitest';
import kafkajs from 'kafkajs';
import { corePlugins, createLogger, createPipeline, PluginRegistry, type CallEvent } from '@plumline/core';
import { CallGenerator } from '@plumline/core/sources';
import { kafkaSink } from './kafka-sink.js';
import { KafkaStateStore, kafkaStateConfigSchema } from '@plumline/kafka-client';

/**
 * The sink and the state store against every Kafka line we support: the newest (the main
 * broker, 4.x) and the older ones the test command starts beside it (3.9.x).
 */
const clusters = [{ version: 'main (4.x)', brokers: inject('kafkaBrokers') }, ...inject('kafkaCompat')];
const logger = createLogger({ level: 'silent' });
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const N = 400;
const generated = () => {
  const g = new CallGenerator({ seed: 1, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'gen' });
  return Array.from({ length: N }, (_, i) => g.event(i));
};

/** Reads the topics with read_committed isolation until `count` records came and nothing more for a moment. */
async function readAll(brokers: string[], topics: string[], count: number): Promise<{ topic: string; value: CallEvent }[]> {
  const consumer = new kafkajs.Kafka({ clientId: 'compat-check', brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: unique('compat'), readUncommitted: false });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  const out: { topic: string; value: CallEvent }[] = [];
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      last = Date.now();
      out.push({ topic, value: JSON.parse(String(message.value)) as CallEvent });
    },
  });
  const started = Date.now();
  while ((out.length < count || Date.now() - last < 1000) && Date.now() - started < 45_000) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return out;
}

describe.each(clusters)('Kafka $version', ({ brokers }) => {
  it('takes every compression codec and an exactly-once run, read back by an independent read_committed consumer', { timeout: 90_000 }, async () => {
    const prefix = unique('compat');
    const sinks = Object.fromEntries(CODECS.map((c) => [`k_${c}`, { type: 'kafka', inputs: ['gen'], brokers, topic: `${prefix}.${c}`, compression: c, create_topics: {} }]));
    const p = await createPipeline(
      { sources: { gen: { type: 'generate', count: N, batch_size: 100 } }, sinks },
      { plugins: new PluginRegistry([...corePlugins, kafkaSink]), logger, once: true, stateStore: new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic: `${prefix}-state` }), `${prefix}-plain`, logger) },
    );
    await p.start();
    await p.done;

    const stateTopic = `${prefix}-eos-state`;
    const eos = await createPipeline(
      { id: `${prefix}-eos`, sources: { gen: { type: 'generate', count: N, batch_size: 50 } }, sinks: { k: { type: 'kafka', inputs: ['gen'], brokers, topic: `${prefix}.eos`, exactly_once: true, state_topic: stateTopic, create_topics: {} } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSink]), logger, once: true, stateStore: new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic: stateTopic }), `${prefix}-eos`, logger) },
    );
    await eos.start();
    await eos.done;

    const topics = [...CODECS, 'eos'].map((c) => `${prefix}.${c}`);
    const got = await readAll(brokers, topics, N * topics.length);
    const want = generated().map((e) => e.id);
    for (const t of topics) expect(got.filter((r) => r.topic === t).map((r) => r.value.id), t).toEqual(want);
  });

  it('state store: values survive a reopen, and a second worker fences the first', { timeout: 60_000 }, async () => {
    const topic = unique('compat-state');
    const a = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic }), 'p', logger);
    await a.open();
    await a.set('checkpoints', { src: { seq: 1, position: 10 } });
    const b = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic }), 'p', logger);
    await b.open();
    expect(await b.get('checkpoints')).toEqual({ src: { seq: 1, position: 10 } });
    await expect(a.set('checkpoints', { src: { seq: 2, position: 20 } })).rejects.toMatchObject({ code: 'STATE_FENCED' });
    await a.close();
    await b.close();
  });
});
