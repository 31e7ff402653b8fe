import { describe, expect, inject, it } from 'vitest';
import { systemClock } from '@plumline/core/util';
import kafkajs from './kafkajs-client.js';
import { endOffsets, readCommittedToEnd, type ReadToEnd } from './read-committed-to-end.js';

const brokers = inject('kafkaBrokers');
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

describe('readCommittedToEnd (real broker)', () => {
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'read-to-end-test', logLevel: kafkajs.logLevel.NOTHING });

  /** A topic with `n` records committed in a transaction and one aborted after them. */
  async function transactionalTopic(n: number): Promise<string> {
    const topic = unique('read-to-end');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: unique('tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'aborted', value: 'x' }] });
    await aborted.abort();
    await producer.disconnect();
    return topic;
  }

  async function endsOf(topic: string): Promise<ReadToEnd['ends']> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await endOffsets(admin, topic);
    } finally {
      await admin.disconnect();
    }
  }

  const read = (topic: string, ends: ReadToEnd['ends']): ReadToEnd => ({
    topic,
    groupId: unique('g'),
    ends,
    toHighWatermark: true,
    slowAfterMs: 60_000,
    onSlow: () => {},
    timeoutMs: 20_000,
    onTimeout: () => new Error('not read to the end in 20 s'),
    clock: systemClock,
  });

  it('reads every committed record, none aborted, and ends past the last transaction marker', { timeout: 60_000 }, async () => {
    const topic = await transactionalTopic(5);
    const ends = await endsOf(topic);
    // 5 records, a commit marker, the aborted record and its abort marker.
    expect(ends.get(0)).toEqual({ low: 0, high: 8 });
    const keys: string[] = [];
    await readCommittedToEnd(kafka, read(topic, ends), (key) => keys.push(key));
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });

  it('fails at once when its consumer stops for good, instead of waiting out its timeout', { timeout: 60_000 }, async () => {
    const topic = await transactionalTopic(3);
    const ends = await endsOf(topic);
    // An error kafkajs does not retry (as GROUP_AUTHORIZATION_FAILED is): its consumer crashes without restarting.
    const refused = Object.assign(new Error('refused for good'), { retriable: false });
    const started = performance.now();
    await expect(readCommittedToEnd(kafka, read(topic, ends), () => { throw refused; })).rejects.toThrow('refused for good');
    console.log(`read failed ${Math.round(performance.now() - started)} ms after it began (its timeout: 20000 ms)`);
  });
});
