export { kafkaSink, KafkaSink, kafkaClientConfig } from './kafka-sink.js';
export { kafkaSinkConfigSchema, type KafkaSinkConfig } from './kafka-sink-config.js';
export { kafkaStatePlugin, KafkaStateStore, kafkaStateConfigSchema, type KafkaStateConfig } from './kafka-state-store.js';
