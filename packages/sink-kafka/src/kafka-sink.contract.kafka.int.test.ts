import { inject } from 'vitest';
import kafkajs from 'kafkajs';
import { sinkContract } from '@plumline/core/testing';
import { kafkaSink } from './kafka-sink.js';

const brokers = inject('kafkaBrokers');
const kafka = new kafkajs.Kafka({ clientId: 'contract-check', brokers, logLevel: kafkajs.logLevel.NOTHING });
let n = 0;

/** Every record of the topic, read by an independent consumer up to the high watermark. */
async function readBack(config: Record<string, unknown>): Promise<string[]> {
  const topic = String(config.topic);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  const ids: string[] = [];
  if (total === 0) return ids;
  const consumer = kafka.consumer({ groupId: `contract-${Date.now()}-${n++}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        ids.push((JSON.parse(String(message.value)) as { id: string }).id);
        if (ids.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return ids;
}

sinkContract({
  plugin: kafkaSink,
  config: () => ({ brokers, topic: `contract-${Date.now().toString(36)}-${n++}`, create_topics: {} }),
  readBack,
  // Nothing listens there: the start fails with KAFKA_CONNECT_FAILED.
  failingConfig: () => ({ brokers: ['127.0.0.1:1'], topic: 'never', request_timeout: '2s' }),
});
