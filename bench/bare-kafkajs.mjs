// The ceiling for the Kafka sink: a bare kafkajs producer sending the same events with the same
// settings (idempotent, acks=all, batches of 1,000, one batch at a time). With a fourth argument
// `transactional`, the ceiling for exactly-once: one transaction per batch, as the sink commits.
// Prints {events, ms, maxRssBytes}.
import kafkajs from 'kafkajs';
import { callMessageBatches } from './call-messages.mjs';

const [brokers, topic, nText, mode] = process.argv.slice(2);
const N = Number(nText);
const transactional = mode === 'transactional';
const kafka = new kafkajs.Kafka({ clientId: 'bare', brokers: [brokers], logLevel: kafkajs.logLevel.NOTHING });
const producer = kafka.producer(transactional ? { transactionalId: `bare-${process.pid}`, idempotent: true, maxInFlightRequests: 1 } : { idempotent: true, maxInFlightRequests: 5 });
await producer.connect();
const started = performance.now();
for (const messages of callMessageBatches(N)) {
  if (transactional) {
    const tx = await producer.transaction();
    await tx.send({ topic, messages, acks: -1 });
    await tx.commit();
  } else await producer.send({ topic, messages, acks: -1 });
}
const ms = performance.now() - started;
await producer.disconnect();
process.stdout.write(JSON.stringify({ events: N, ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
