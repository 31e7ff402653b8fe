import kafkajs from 'kafkajs';
import { CallGenerator } from '@plumline/core/sources';
import { readCommitted } from './read-committed.js';

/**
 * Writes `events` generated calls (10% repeats unless `duplicateRatio` says otherwise, keyed by id, so a repeat lands on its original's
 * partition) to a new topic of `partitions` partitions with a plain kafkajs producer; resolves
 * with how often each id is in it.
 */
export async function seedCallTopic(brokers: string[], topic: string, o: { events: number; partitions: number; seed: number; duplicateRatio?: number }): Promise<Map<string, number>> {
  const kafka = new kafkajs.Kafka({ clientId: 'seed', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions }], waitForLeaders: true });
  await admin.disconnect();
  const gen = new CallGenerator({ seed: o.seed, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: o.duplicateRatio ?? 0.1, source: 'gen' });
  const events = Array.from({ length: o.events }, (_, i) => gen.event(i));
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < events.length; i += 2000) {
    await producer.send({ topic, messages: events.slice(i, i + 2000).map((e) => ({ key: e.id, value: JSON.stringify(e) })) });
  }
  await producer.disconnect();
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return counts;
}

/** How often each id is in `topic`, read by Apache's Java consumer with read_committed. */
export async function committedIdCounts(brokers: string[], topic: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await readCommitted(brokers, [topic])) {
    const id = (JSON.parse(r.value) as { id: string }).id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
