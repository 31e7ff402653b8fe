import { describe, expect, it } from 'vitest';
import { ConfigErrors, corePlugins, defineOperator, defineSource, mapEvents, PluginRegistry, z } from '../index.js';
import { resolvePipeline } from '../host.js';

/** A source that says it is partitioned, keyed by whatever its config declares (as the kafka source does). */
const partitioned = defineSource({
  type: 'parts',
  description: 'a partitioned source (test)',
  configSchema: z.strictObject({ keyed_by: z.array(z.string()).optional() }),
  partitioning: (c) => ({ keyedBy: c.keyed_by }),
  create: () => ({ bounded: true, read: async function* () {} }),
});
/** An operator whose events meet through any one of its fields (as correlate's join keys do). */
const joining = defineOperator({
  type: 'joins',
  description: 'joins on any of its fields (test)',
  configSchema: z.strictObject({ on: z.array(z.string()), per_partition: z.boolean().default(false) }),
  partitionKey: (c) => ({ fields: c.on, perPartition: c.per_partition, configKey: 'on', anyOf: true }),
  create: () => ({ apply: mapEvents((e) => e) }),
});
const registry = new PluginRegistry([...corePlugins, partitioned, joining]);

async function codesOf(yaml: string): Promise<{ code: string; line: number | undefined }[]> {
  try {
    await resolvePipeline(yaml, { registry, file: 'p.yaml' });
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigErrors);
    return (err as ConfigErrors).errors.map((e) => ({ code: e.code, line: e.location?.line }));
  }
}

const pipeline = (source: string, dedupe: string) => `sources:
  raw: ${source}
transforms:
  tagged: { type: map, inputs: [raw], set: { attributes.seen: "yes" } }
  unique: ${dedupe}
sinks:
  out: { type: blackhole, inputs: [unique] }
`;

describe('co-partitioning: dedupe behind a partitioned source', () => {
  it('is refused, at the dedupe\'s key, when the source is not keyed by it (through other transforms too)', async () => {
    expect(await codesOf(pipeline('{ type: parts }', '{ type: dedupe, inputs: [tagged], key: [id] }'))).toEqual([{ code: 'CONFIG_NOT_CO_PARTITIONED', line: 5 }]);
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [from] }', '{ type: dedupe, inputs: [tagged], key: [id] }'))).toEqual([{ code: 'CONFIG_NOT_CO_PARTITIONED', line: 5 }]);
  });

  it('is accepted when the source is keyed by the dedupe key, or the dedupe accepts per-partition', async () => {
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [id] }', '{ type: dedupe, inputs: [tagged], key: [id] }'))).toEqual([]);
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [to, from] }', '{ type: dedupe, inputs: [tagged], key: [from, to] }'))).toEqual([]);
    expect(await codesOf(pipeline('{ type: parts }', '{ type: dedupe, inputs: [tagged], key: [id], per_partition: true }'))).toEqual([]);
    expect(await codesOf(pipeline('{ type: generate, count: 1 }', '{ type: dedupe, inputs: [tagged] }'))).toEqual([]);
  });
});

describe('co-partitioning: an operator joining on any of several fields (correlate) behind a partitioned source', () => {
  it('is accepted keyed by its one join field, refused keyed otherwise, and refused for several fields whatever the keying, unless per-partition', async () => {
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [attributes.sessionId] }', '{ type: joins, inputs: [tagged], on: [attributes.sessionId] }'))).toEqual([]);
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [id] }', '{ type: joins, inputs: [tagged], on: [attributes.sessionId] }'))).toEqual([{ code: 'CONFIG_NOT_CO_PARTITIONED', line: 5 }]);
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [from, to] }', '{ type: joins, inputs: [tagged], on: [from, to] }'))).toEqual([{ code: 'CONFIG_NOT_CO_PARTITIONED', line: 5 }]);
    expect(await codesOf(pipeline('{ type: parts, keyed_by: [from, to] }', '{ type: joins, inputs: [tagged], on: [from, to], per_partition: true }'))).toEqual([]);
  });
});
