export { kafkaSink, KafkaSink } from './kafka-sink.js';
export { kafkaSinkConfigSchema, type KafkaSinkConfig } from './kafka-sink-config.js';
