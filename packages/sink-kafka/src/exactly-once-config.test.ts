import { describe, expect, it } from 'vitest';
import { ConfigErrors, corePlugins, PluginRegistry } from '@plumline/core';
import { resolvePipeline } from '@plumline/core/host';
import { kafkaSink } from './kafka-sink.js';
import { kafkaStatePlugin } from '@plumline/kafka-client';

const registry = new PluginRegistry([...corePlugins, kafkaSink, kafkaStatePlugin]);

/** The codes and locations (line: key path) `yaml` is refused with; [] when it validates. */
async function refusals(yaml: string): Promise<string[]> {
  try {
    await resolvePipeline(yaml, { registry, file: 'p.yaml', env: {} });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.path}`);
  }
}

const SOURCE = 'sources:\n  gen: { type: generate, count: 10 }\n';
const sink = (extra = '', brokers = '["127.0.0.1:9092"]') => `sinks:\n  k:\n    type: kafka\n    inputs: [gen]\n    brokers: ${brokers}\n    topic: t\n    exactly_once: true${extra}\n`;
const kafkaState = 'state: { type: kafka, brokers: ["127.0.0.1:9092"], topic: st }\n';

describe('exactly-once prerequisites, refused at validate time where the file decides them', () => {
  it('accepts a Kafka state store on the same brokers, with or without a matching state_topic', async () => {
    expect(await refusals(kafkaState + SOURCE + sink())).toEqual([]);
    expect(await refusals(kafkaState + SOURCE + sink('\n    state_topic: st'))).toEqual([]);
  });

  it('refuses a non-Kafka state store, another cluster, another state topic and a second sink, each located', async () => {
    expect(await refusals(SOURCE + sink())).toEqual(['CONFIG_EXACTLY_ONCE_STATE 9:sinks.k.exactly_once']);
    expect(await refusals('state: { type: directory, path: s }\n' + SOURCE + sink())).toEqual(['CONFIG_EXACTLY_ONCE_STATE 10:sinks.k.exactly_once']);
    expect(await refusals(kafkaState + SOURCE + sink('', '["10.0.0.1:9092"]'))).toEqual(['CONFIG_EXACTLY_ONCE_CLUSTER 8:sinks.k.brokers']);
    expect(await refusals(kafkaState + SOURCE + sink('\n    state_topic: plumline-state'))).toEqual(['CONFIG_EXACTLY_ONCE_STATE_TOPIC 11:sinks.k.state_topic']);
    expect(await refusals(kafkaState + SOURCE + sink() + '  other: { type: blackhole, inputs: [gen] }\n')).toEqual(['CONFIG_EXACTLY_ONCE_SINKS 5:sinks.k']);
  });

  it('refuses a sink whose producer driver is not the state store\'s, and compression on a confluent exactly-once sink (librdkafka compresses per producer)', async () => {
    const confluentState = 'state: { type: kafka, brokers: ["127.0.0.1:9092"], topic: st, driver: confluent }\n';
    expect(await refusals(confluentState + SOURCE + sink('\n    driver: confluent'))).toEqual([]);
    expect(await refusals(kafkaState + SOURCE + sink('\n    driver: confluent'))).toEqual(['CONFIG_EXACTLY_ONCE_DRIVER 11:sinks.k.driver']);
    expect(await refusals(confluentState + SOURCE + sink('\n    driver: confluent\n    compression: lz4'))).toEqual(['CONFIG_EXACTLY_ONCE_DRIVER 12:sinks.k.compression']);
    expect(await refusals(kafkaState + SOURCE + sink('\n    compression: lz4'))).toEqual([]);
  });
});
