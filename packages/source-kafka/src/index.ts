export { kafkaSource, KafkaSource, type KafkaCheckpoint } from './kafka-source.js';
export { kafkaSourceConfigSchema, type KafkaSourceConfig } from './kafka-source-config.js';
