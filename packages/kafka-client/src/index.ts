export { kafkaClientConfig, kafkaConnectionShape, type KafkaConnection } from './kafka-connection.js';
export { kafkaStatePlugin, KafkaStateStore, kafkaStateConfigSchema, type KafkaStateConfig } from './kafka-state-store.js';
export { EVENT_AVRO_SCHEMA, EVENT_JSON_SCHEMA, EVENT_RECORD_NAME, fromAvroRecord, toAvroRecord } from './schema-registry/event-schemas.js';
export { confluentDriverAvailable, KAFKA_DRIVERS, type KafkaDriver } from './producer-driver.js';
