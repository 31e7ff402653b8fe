import { describe, expect, it } from 'vitest';
import { ConfigErrors, corePlugins, createLogger, createPipeline, defineSink, defineSource, defineStateStore, PluginRegistry, z, type TaskMembership } from '../index.js';
import { MemoryStateStore } from '../testing/index.js';

const membership: TaskMembership = { join: async () => {}, leave: async () => {} };

/** A store every worker shares that can spread tenants (as the Kafka store does), and one that cannot. */
const spreading = defineStateStore({
  type: 'spreading',
  description: 'a shared store with spread (test)',
  configSchema: z.strictObject({}),
  sharedByWorkers: true,
  spread: (_c, settings) => ({ membership: () => membership, shard: (task) => ({ task, count: settings.partitions, owns: () => true }) }),
  create: () => new MemoryStateStore(),
});
const sharedOnly = defineStateStore({ type: 'shared', description: 'a shared store without spread (test)', configSchema: z.strictObject({}), sharedByWorkers: true, create: () => new MemoryStateStore() });
const tenants = defineSource({
  type: 'tenants',
  description: 'a source of many accounts (test)',
  configSchema: z.strictObject({ accounts: z.array(z.string()).optional() }),
  shardable: (c) => c.accounts !== undefined,
  create: () => ({ bounded: true, async *read() {} }),
});
const exactlyOnce = defineSink({ type: 'eo', description: 'an exactly-once sink (test)', configSchema: z.strictObject({}), atomicProblems: () => [], create: () => ({ write: async () => ({}) }) as never });
const plugins = new PluginRegistry([...corePlugins, spreading, sharedOnly, tenants, exactlyOnce]);

const pipeline = (o: { state?: string; source?: string; sink?: string; spread?: string } = {}) => `id: ingest
state: { type: ${o.state ?? 'spreading'} }
spread: ${o.spread ?? '{ partitions: 6 }'}
sources:
  plum: ${o.source ?? '{ type: tenants, accounts: [a, b] }'}
sinks:
  out: ${o.sink ?? '{ type: eo, inputs: [plum] }'}
`;
const errors = (p: Promise<unknown>) => p.then(() => [], (e: ConfigErrors) => e.errors.map((x) => [x.code, x.location?.line]));

describe('spread: (tenants shared out among workers) at validate', () => {
  it('takes a shardable source, an exactly-once sink and a store that spreads; refuses --once at start, since shares move between workers', async () => {
    const p = await createPipeline(pipeline(), { plugins, logger: createLogger({ level: 'silent' }), once: true, file: 'p.yaml' });
    await expect(p.start()).rejects.toMatchObject({ code: 'CONFIG_NOT_BOUNDED' });
  });

  it('refuses, located, what would read a tenant twice or lose its checkpoint on a move', async () => {
    const at = (o: Parameters<typeof pipeline>[0], options: { stateStore?: MemoryStateStore } = {}) => errors(createPipeline(pipeline(o), { plugins, file: 'p.yaml', ...options }));
    // A store on one machine, or one that cannot share tenants out, or one given in code.
    expect(await at({ state: 'directory' })).toEqual([['CONFIG_SPREAD_STATE_NOT_SHARED', 2]]);
    expect(await at({ state: 'shared' })).toEqual([['CONFIG_SPREAD_STATE_NOT_SHARED', 2]]);
    expect((await at({}, { stateStore: new MemoryStateStore() })).map(([code]) => code)).toEqual(['CONFIG_SPREAD_STATE_NOT_SHARED']);
    // A source without tenants: every worker would read it whole.
    expect(await at({ source: '{ type: tenants }' })).toEqual([['CONFIG_SPREAD_SOURCE_NOT_SHARDED', 5]]);
    expect(await at({ source: '{ type: generate, count: 1 }' })).toEqual([['CONFIG_SPREAD_SOURCE_NOT_SHARDED', 5]]);
    // A sink that does not commit with the share's checkpoint.
    expect(await at({ sink: '{ type: blackhole, inputs: [plum] }' })).toEqual([['CONFIG_SPREAD_NOT_EXACTLY_ONCE', 7]]);
    // The section's own schema: strict, partitions required.
    expect((await at({ spread: '{ partitions: 6, partition: 3 }' })).map(([code]) => code)).toEqual(['CONFIG_UNKNOWN_KEY']);
    expect((await at({ spread: '{ group: g }' })).map(([code]) => code)).toEqual(['CONFIG_MISSING_KEY']);
  });
});
