// bench/bare-kafkajs.mjs through @confluentinc/kafka-javascript's KafkaJS-compatible API: the same
// events, settings and loop (idempotent, acks=all, batches of 1,000, one at a time; with a fourth
// argument `transactional`, one transaction per batch). Prints {events, ms, maxRssBytes}.
import ckjs from '@confluentinc/kafka-javascript';
import { callMessageBatches } from '../call-messages.mjs';

const { Kafka } = ckjs.KafkaJS;
const [brokers, topic, nText, mode] = process.argv.slice(2);
const N = Number(nText);
const transactional = mode === 'transactional';
const kafka = new Kafka({ kafkaJS: { clientId: 'bare-confluent', brokers: [brokers], logLevel: 0 } });
const producer = kafka.producer({ kafkaJS: transactional ? { transactionalId: `bare-confluent-${process.pid}`, idempotent: true, maxInFlightRequests: 1 } : { idempotent: true, maxInFlightRequests: 5, acks: -1 } });
await producer.connect();
const started = performance.now();
for (const messages of callMessageBatches(N)) {
  if (transactional) {
    const tx = await producer.transaction();
    await tx.send({ topic, messages });
    await tx.commit();
  } else await producer.send({ topic, messages });
}
const ms = performance.now() - started;
await producer.disconnect();
process.stdout.write(JSON.stringify({ events: N, ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
