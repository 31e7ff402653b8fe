// Before any test file imports kafkajs itself (to seed topics), so that kafkajs's consumer loads
// with the read_committed filter @plumline/kafka-client corrects (packages/kafka-client/src/read-committed-filter.ts):
// a test that imported kafkajs first would otherwise have the kafka source and the Kafka state
// store refuse to read (KAFKA_READ_COMMITTED_UNSAFE).
import '../packages/kafka-client/src/install-read-committed-filter.js';
