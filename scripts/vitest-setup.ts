// Before any test file imports kafkajs itself (to seed topics), so that kafkajs's consumer loads
// with the read_committed filter @plumline/kafka corrects (packages/kafka/src/read-committed-filter.ts):
// a test that imported kafkajs first would otherwise have the kafka source and the Kafka state
// store refuse to read (KAFKA_READ_COMMITTED_UNSAFE).
import '../packages/kafka/src/install-read-committed-filter.js';
