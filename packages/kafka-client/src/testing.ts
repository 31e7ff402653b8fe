import { confluentDriverAvailable, type KafkaDriver } from './producer-driver.js';

/**
 * The producer drivers a Kafka test should run with: kafkajs, and confluent where its native
 * module loads. In CI (`CI` set) confluent is always included, so a build that failed shows as a
 * failing test rather than a skipped one (the test command builds it first).
 */
export function kafkaDriversToTest(): KafkaDriver[] {
  return process.env.CI || confluentDriverAvailable() ? ['kafkajs', 'confluent'] : ['kafkajs'];
}
