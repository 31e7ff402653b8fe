export { kafkaSink, KafkaSink, kafkaClientConfig } from './kafka-sink.js';
export { kafkaSinkConfigSchema, type KafkaSinkConfig } from './kafka-sink-config.js';
export { kafkaStatePlugin, KafkaStateStore, kafkaStateConfigSchema, type KafkaStateConfig } from './kafka-state-store.js';
export { EVENT_AVRO_SCHEMA, EVENT_JSON_SCHEMA, EVENT_RECORD_NAME, fromAvroRecord, toAvroRecord } from './schema-registry/event-schemas.js';
