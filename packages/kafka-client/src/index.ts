export { kafkaSink, KafkaSink } from './kafka-sink.js';
export { kafkaClientConfig, kafkaConnectionShape, type KafkaConnection } from './kafka-connection.js';
export { kafkaSinkConfigSchema, type KafkaSinkConfig } from './kafka-sink-config.js';
export { kafkaStatePlugin, KafkaStateStore, kafkaStateConfigSchema, type KafkaStateConfig } from './kafka-state-store.js';
export { EVENT_AVRO_SCHEMA, EVENT_JSON_SCHEMA, EVENT_RECORD_NAME, fromAvroRecord, toAvroRecord } from './schema-registry/event-schemas.js';
export { kafkaSource, KafkaSource, type KafkaCheckpoint } from './kafka-source.js';
export { kafkaSourceConfigSchema, type KafkaSourceConfig } from './kafka-source-config.js';
export { confluentDriverAvailable, KAFKA_DRIVERS, type KafkaDriver } from './producer-driver.js';
