// What a transactional producer sees when a newer one with its transactional id fenced it, through
// @confluentinc/kafka-javascript's KafkaJS-compatible API. Prints the error's fields as JSON.
import ckjs from '@confluentinc/kafka-javascript';

const { Kafka } = ckjs.KafkaJS;
const [brokers, topic] = process.argv.slice(2);
const kafka = new Kafka({ kafkaJS: { clientId: 'fenced', brokers: [brokers], logLevel: 0 } });
const producer = () => kafka.producer({ kafkaJS: { transactionalId: `fenced-${process.pid}`, idempotent: true, maxInFlightRequests: 1 } });
const old = producer();
await old.connect();
const tx = await old.transaction();
await tx.send({ topic, messages: [{ key: 'old', value: 'old' }] });
const newer = producer();
await newer.connect();
let seen;
try {
  await tx.commit();
  seen = { committed: true };
} catch (err) {
  seen = { class: err.constructor.name, name: err.name, code: err.code, type: err.type, retriable: err.retriable, fatal: err.fatal, abortable: err.abortable, message: err.message };
}
await old.disconnect().catch(() => {});
await newer.disconnect();
process.stdout.write(JSON.stringify(seen) + '\n');
