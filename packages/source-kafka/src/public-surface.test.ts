import { describe, expect, it } from 'vitest';

// An addition is deliberate; what the Kafka source shares with the sink is @plumline/kafka-client's, not re-exported here.
describe('@plumline/source-kafka', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['KafkaSource', 'kafkaSource', 'kafkaSourceConfigSchema']);
  });
});
