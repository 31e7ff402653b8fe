import { describe, expect, inject, it } from 'vitest';
import { createLogger, type JsonValue } from '@plumline/core';
import kafkajs from './kafkajs-client.js';
import { KafkaStateStore, kafkaStateConfigSchema } from './kafka-state-store.js';

const brokers = inject('kafkaBrokers');
const logger = createLogger({ level: 'silent' });
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
const store = (topic: string, pipeline: string) => new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic }), pipeline, logger);

/** Every committed record of `topic` (one partition), in order, as an independent reader sees it. */
async function recordsOf(topic: string): Promise<{ key: string; bytes: number }[]> {
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const end = Number((await admin.fetchTopicOffsets(topic))[0]!.offset);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: unique('reader'), readUncommitted: false });
  const out: { key: string; bytes: number }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) out.push({ key: m.key?.toString() ?? '', bytes: (m.key?.length ?? 0) + (m.value?.length ?? 0) });
        if (Number(batch.lastOffset()) + 1 >= end) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

describe('kafka state store: a write sends what changed (real broker)', () => {
  it('1,000 tenants, one moving per commit: a commit writes two small records (its seq and its tenant), not the whole checkpoint', { timeout: 90_000 }, async () => {
    const topic = unique('state');
    const a = store(topic, 'tenants');
    await a.open();
    const tenants: Record<string, JsonValue> = {};
    for (let i = 0; i < 1000; i++) tenants[`account-${i}`] = { sessions: 1_700_000_000_000 + i, '@readAt': { sessions: 1_700_000_000_000 } };
    await a.set('checkpoints', { src: { seq: 1, position: tenants } });
    tenants['account-500'] = { sessions: 1_800_000_000_000, '@readAt': { sessions: 1_800_000_000_000 } };
    await a.set('checkpoints', { src: { seq: 2, position: tenants } });
    const all = (await recordsOf(topic)).filter((r) => r.key.startsWith('tenants/checkpoints'));
    // The first commit wrote its seq and the 1,000 tenants; what follows is the second.
    expect(all.length).toBeGreaterThan(1001);
    const written = all.slice(1001);
    expect(written.map((r) => r.key.split('\u001f')[1])).toEqual(['["src","seq"]', '["src","position","account-500"]']);
    expect(written.reduce((n, r) => n + r.bytes, 0)).toBeLessThan(300);
    await a.close();
    // A new worker reads the whole value back from the entries.
    const b = store(topic, 'tenants');
    await b.open();
    expect(await b.get('checkpoints')).toEqual({ src: { seq: 2, position: tenants } });
    await b.close();
  });

  it('an entry removed is a tombstone; a value an earlier version wrote whole is read, then replaced by entries', { timeout: 90_000 }, async () => {
    const topic = unique('state');
    // What an earlier version wrote: the whole value under {pipeline}/{key}.
    const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'old/checkpoints', value: JSON.stringify({ gen: { seq: 7, position: { next: 700 } } }) }] });
    await producer.disconnect();

    const a = store(topic, 'old');
    await a.open();
    expect(await a.get('checkpoints')).toEqual({ gen: { seq: 7, position: { next: 700 } } });
    await a.set('checkpoints', { gen: { seq: 8, position: { next: 800, extra: 1 } } });
    await a.set('checkpoints', { gen: { seq: 9, position: { next: 900 } } });
    await a.close();
    const keys = (await recordsOf(topic)).map((r) => r.key);
    expect(keys).toContain('old/checkpoints'); // its tombstone
    const b = store(topic, 'old');
    await b.open();
    expect(await b.get('checkpoints')).toEqual({ gen: { seq: 9, position: { next: 900 } } });
    await b.close();
  });

  it('a record under this pipeline\'s prefix that names another pipeline stops the open with STATE_CORRUPT', { timeout: 90_000 }, async () => {
    const topic = unique('state');
    const a = store(topic, 'p1');
    await a.open();
    await a.set('checkpoints', { gen: { seq: 1, position: { next: 10 } } });
    await a.close();
    const producer = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'p1/checkpoints\u001f["gen","seq"]', value: JSON.stringify({ p: 'p2', v: 99 }) }] });
    await producer.disconnect();
    const b = store(topic, 'p1');
    await expect(b.open()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(`Kafka topic ${topic}`) });
    await b.close();
  });
});
