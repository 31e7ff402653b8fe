import { describe, expect, inject, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, PluginRegistry, type CallEvent } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { KafkaStateStore, kafkaStateConfigSchema } from '@plumline/kafka-client';
import { kafkaSource } from './kafka-source.js';
import { kafkajs } from '@plumline/kafka-client/support';

const brokers = inject('kafkaBrokers');
const logger = createLogger({ level: 'silent' });
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
const event = (id: string): CallEvent => ({ id, source: 'gen', kind: 'call', time: '2026-01-01T00:00:00Z', attributes: {} });

/**
 * Writes, on one partition of `topic`: a committed record, then two transactions that both abort
 * in the opposite order to how they began (the second aborts first), then another committed
 * record. The broker lists such aborted transactions by where they ended, which kafkajs 2.2.4
 * took for where they began: it passed the first one's records as committed.
 */
async function interleavedAborts(topic: string, records: { committed: [string, string][]; aborted: [string, string][] }): Promise<void> {
  const kafka = new kafkajs.Kafka({ clientId: 'interleave', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = (id: string) => kafka.producer({ transactionalId: `${topic}-${id}`, idempotent: true, maxInFlightRequests: 1 });
  const [committer, first, second] = [producer('c'), producer('a'), producer('b')];
  for (const p of [committer, first, second]) await p.connect();
  const commit = async (key: string, value: string) => {
    const tx = await committer.transaction();
    await tx.send({ topic, messages: [{ key, value }] });
    await tx.commit();
  };
  await commit(...records.committed[0]!);
  const t1 = await first.transaction();
  await t1.send({ topic, messages: [{ key: records.aborted[0]![0], value: records.aborted[0]![1] }] });
  const t2 = await second.transaction();
  await t2.send({ topic, messages: [{ key: records.aborted[1]![0], value: records.aborted[1]![1] }] });
  await t2.abort();
  await t1.abort();
  await commit(...records.committed[1]!);
  for (const p of [committer, first, second]) await p.disconnect();
}

describe('read_committed where aborted transactions interleave (real broker)', () => {
  it('the Kafka state store loads the committed value, not one from an aborted transaction', { timeout: 60_000 }, async () => {
    const topic = unique('state');
    await interleavedAborts(topic, {
      committed: [
        ['p1/checkpoints', JSON.stringify({ n: 1 })],
        ['p2/checkpoints', JSON.stringify({ n: 2 })],
      ],
      aborted: [
        ['p1/checkpoints', JSON.stringify({ n: 666 })],
        ['p1/checkpoints', JSON.stringify({ n: 777 })],
      ],
    });
    const store = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic }), 'p1', logger);
    await store.open();
    expect(await store.get('checkpoints')).toEqual({ n: 1 });
    await store.close();
  });

  it('the kafka source hands on the committed records only', { timeout: 60_000 }, async () => {
    const topic = unique('in');
    const rec = (id: string): [string, string] => [id, JSON.stringify(event(id))];
    await interleavedAborts(topic, { committed: [rec('c1'), rec('c2')], aborted: [rec('a1'), rec('a2')] });
    const sink = memorySink({ type: 'mem' });
    const p = await createPipeline(
      { id: unique('rc'), sources: { in: { type: 'kafka', brokers, topics: [topic], group_id: unique('g'), stop_at_end: true } }, sinks: { out: { type: 'mem', inputs: ['in'] } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSource, sink.plugin]), logger, once: true },
    );
    await p.start();
    await p.done;
    expect(sink.record.events.map((e) => e.id).sort()).toEqual(['c1', 'c2']);
  });

  it('the Kafka state store loads what its pipeline committed after another producer\'s transaction that is still open (it waits for that transaction)', { timeout: 60_000 }, async () => {
    const topic = unique('state');
    const a = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic }), 'p1', logger);
    await a.open();
    await a.set('checkpoints', { n: 1 });
    // Another worker's transaction opens (as one a worker leaves when it dies), then p1 commits on.
    const kafka = new kafkajs.Kafka({ clientId: 'open-tx', brokers, logLevel: kafkajs.logLevel.NOTHING });
    const other = kafka.producer({ transactionalId: `${topic}-other`, idempotent: true, maxInFlightRequests: 1 });
    await other.connect();
    const open = await other.transaction();
    await open.send({ topic, messages: [{ key: 'p2/checkpoints', value: JSON.stringify({ n: 9 }) }] });
    await a.set('checkpoints', { n: 2 });
    await a.close();
    // The successor of p1 loads while that transaction is open; it ends a moment later.
    const b = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers, topic }), 'p1', logger);
    const ended = new Promise((r) => setTimeout(r, 2_000)).then(() => open.abort());
    await b.open();
    await ended;
    expect(await b.get('checkpoints')).toEqual({ n: 2 });
    await b.close();
    await other.disconnect();
  });
});
