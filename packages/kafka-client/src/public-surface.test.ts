import { describe, expect, it } from 'vitest';

// An addition is deliberate. The main entry is what a user imports (the state store, the
// connection and event schemas, the drivers); ./support is what @plumline/sink-kafka and
// @plumline/source-kafka are built from, and repeats nothing of the main entry.
describe('@plumline/kafka-client', () => {
  it('main entry: exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'EVENT_AVRO_SCHEMA', 'EVENT_JSON_SCHEMA', 'EVENT_RECORD_NAME', 'KAFKA_DRIVERS', 'KafkaStateStore', 'confluentDriverAvailable',
      'fromAvroRecord', 'kafkaClientConfig', 'kafkaConnectionShape', 'kafkaStateConfigSchema', 'kafkaStatePlugin', 'toAvroRecord',
    ]);
  });

  it('./support: exports exactly these values, none of them the main entry\'s', async () => {
    const support = Object.keys(await import('./support.js')).sort();
    expect(support).toEqual([
      'DEFAULT_KAFKA_DRIVER', 'LoggedRefusals', 'PartitionTaskMembership', 'UNSEEN_TOPIC_HINT', 'aclHint', 'assertReadCommittedFilter',
      'checkTopics', 'connectOrFail', 'createProducer', 'createTopicsRacing', 'encodingProblems', 'endOffsets', 'isRoutine',
      'isValidTopicName', 'kafkaConnectionProblems', 'kafkaDriverSchema', 'kafkajs', 'permanentTopicErrorType', 'permanentType',
      'refusedInTransaction', 'registryClient', 'registryConnectionShape', 'taskGroupId', 'unreachable',
    ]);
    const main = Object.keys(await import('./index.js'));
    expect(support.filter((name) => main.includes(name))).toEqual([]);
  });
});
