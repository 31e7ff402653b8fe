/**
 * `@plumline/kafka-client/support`: what the Kafka source (`@plumline/source-kafka`) and sink
 * (`@plumline/sink-kafka`) are built from, in one place so that neither depends on the other:
 * kafkajs with the read_committed filter installed, the connection options and client config,
 * the producer drivers, Kafka's errors (fencing, ACLs) as plumline errors, topic checks and
 * creation, codecs, the task group, reading a topic to its end and the schema registry's pieces.
 * The main entry (`@plumline/kafka-client`) holds what a user imports too (the state store, the
 * connection schema and client config, the event schemas, the drivers); this entry does not repeat it.
 */
export { default as kafkajs } from './kafkajs-client.js';
export { assertReadCommittedFilter } from './read-committed-filter.js';
export { checkTopics, connectOrFail, isValidTopicName, unreachable } from './check-topics.js';
export { kafkaConnectionProblems } from './kafka-connection.js';
export { createTopicsRacing } from './create-topics.js';
export { aclHint, LoggedRefusals, permanentTopicErrorType, permanentType, refusedInTransaction, UNSEEN_TOPIC_HINT } from './kafka-errors.js';
export { isRoutine } from './kafka-log.js';
export { createProducer, DEFAULT_KAFKA_DRIVER, kafkaDriverSchema, type KafkaAtomicHandle, type KafkaProducer, type TopicMessages } from './producer-driver.js';
export { PartitionTaskMembership, taskGroupId, type TaskGroup } from './partition-task-membership.js';
export { endOffsets, type EndOffsets } from './read-committed-to-end.js';
export { encodingProblems, registryClient, registryConnectionShape, type RegistryClient, type RegistryConnection } from './schema-registry/registry-config.js';
