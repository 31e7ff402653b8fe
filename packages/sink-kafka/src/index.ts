export { kafkaSink, KafkaSink, kafkaClientConfig } from './kafka-sink.js';
export { kafkaSinkConfigSchema, type KafkaSinkConfig } from './kafka-sink-config.js';
