import { describe, expect, it } from 'vitest';
import { kafkaSinkConfigSchema } from './kafka-sink-config.js';

const base = { brokers: ['127.0.0.1:9092'], topic: 't' };
const problems = (c: Record<string, unknown>) => {
  const r = kafkaSinkConfigSchema.safeParse({ ...base, ...c });
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('kafka sink config', () => {
  it('accepts every codec and encoding that has what it needs', () => {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) expect(problems({ compression })).toEqual([]);
    expect(problems({ encoding: 'avro', schema_registry: { url: 'http://127.0.0.1:8081' } })).toEqual([]);
    expect(problems({ encoding: 'json_schema', schema_registry: { url: 'http://r:8081', username: 'u', password: 'p' } })).toEqual([]);
  });

  it('names the key of each conflict: an encoding without a registry, a registry with json, half of the credentials', () => {
    expect(problems({ encoding: 'avro' })).toEqual(['schema_registry']);
    expect(problems({ schema_registry: { url: 'http://127.0.0.1:8081' } })).toEqual(['encoding']);
    expect(problems({ encoding: 'avro', schema_registry: { url: 'http://r:8081', username: 'u' } })).toEqual(['schema_registry.password']);
    expect(problems({ compression: 'brotli' })).toEqual(['compression']);
    expect(problems({ encoding: 'avro', schema_registry: { url: 'http://r:8081', subject: 'x' } })).toEqual(['schema_registry']);
  });

  it('refuses templates that cannot render (unclosed, empty) and a fixed topic Kafka would refuse, at validate time', () => {
    expect(problems({ topic: 'kq.{{kind' })).toEqual(['topic']);
    expect(problems({ key: '{{ }}' })).toEqual(['key']);
    expect(problems({ topic: 'not a topic' })).toEqual(['topic']);
    expect(problems({ topic: 'x'.repeat(250) })).toEqual(['topic']);
    expect(problems({ topic: 'kq.{{kind}}', key: '{{id}}' })).toEqual([]);
  });

  it('refuses, at validate time, a template field no event can have and a templated topic Kafka would refuse whatever the event (the issue: every event dead-lettered)', () => {
    const messages = (c: Record<string, unknown>) => {
      const r = kafkaSinkConfigSchema.safeParse({ ...base, ...c });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(messages({ topic: 'calls.{{sorce}}.{{kind}}' })).toEqual([expect.stringMatching(/^topic: .*"sorce" is not a field of an event \(did you mean "source"\?\)/)]);
    expect(messages({ key: '{{attributes.id}}-{{sesion}}' })).toEqual([expect.stringMatching(/^key: .*"sesion" is not a field/)]);
    expect(messages({ headers: { tenant: '{{tenant}}' } })).toEqual([expect.stringMatching(/^headers.tenant: .*"tenant" is not a field/)]);
    expect(messages({ topic: 'calls/{{source}}' })).toEqual([expect.stringMatching(/^topic: .*"\/" .*a Kafka topic name holds only a-z A-Z 0-9 \. _ -/)]);
    expect(messages({ topic: `${'x'.repeat(250)}.{{kind}}` })).toEqual([expect.stringMatching(/^topic: .*longer than 249/)]);
    expect(messages({ topic: 'calls.{{source}}.{{attributes.channel}}' })).toEqual([]);
  });
});
