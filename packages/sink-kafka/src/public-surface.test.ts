import { describe, expect, it } from 'vitest';

// An addition is deliberate; what the Kafka sink shares with the source is @plumline/kafka-client's, not re-exported here.
describe('@plumline/sink-kafka', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['KafkaSink', 'kafkaSink', 'kafkaSinkConfigSchema']);
  });
});
