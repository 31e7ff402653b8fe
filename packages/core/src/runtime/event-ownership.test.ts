import { describe, expect, it } from 'vitest';
import { lastValueFrom, toArray } from 'rxjs';
import { arraySource, memorySink, MemoryStateStore, testEvent } from '../testing/index.js';
import { corePlugins, createLogger, createPipeline, defineOperator, mapEventsOwning, PluginRegistry, z, type CallEvent } from '../index.js';

const logger = createLogger({ level: 'silent' });

/**
 * `tag`: sets attributes.tagged, in place when the runtime says the batch is its own
 * (ctx.ownsEvents), by a copy otherwise, and records which way each batch went.
 */
function tagPlugin() {
  const owned: boolean[] = [];
  const plugin = defineOperator({
    type: 'tag',
    description: 'tags every event',
    configSchema: z.strictObject({}),
    create: (_c, ctx) => ({
      apply: mapEventsOwning(
        () => {
          const mine = ctx.ownsEvents?.() ?? false;
          owned.push(mine);
          return mine;
        },
        (e) => ({ ...e, attributes: { ...e.attributes, tagged: true } }),
        (e) => ((e.attributes.tagged = true), e),
      ),
      handsOverEvents: true,
    }),
  });
  return { plugin, owned };
}

async function run(definition: Record<string, unknown>, observe?: string) {
  const tag = tagPlugin();
  const a = memorySink({ type: 'mem' });
  const b = memorySink({ type: 'mem2' });
  const plain = arraySource([[testEvent('p1'), testEvent('p2')]], 'plain');
  const p = await createPipeline(definition, { plugins: new PluginRegistry([...corePlugins, tag.plugin, a.plugin, b.plugin, plain]), logger, once: true, stateStore: new MemoryStateStore() });
  const seen = observe ? lastValueFrom(p.output$(observe).pipe(toArray())) : Promise.resolve([] as CallEvent[]);
  await p.start();
  await p.done;
  return { owned: tag.owned, a: a.record.events, b: b.record.events, seen: await seen };
}

const gen = { type: 'generate', count: 300, batch_size: 100 };

describe('event ownership: an operator may change its input in place only when no one else can see those events', () => {
  it('owns what a source that hands its events over sends it through operators that pass them on, each output with one consumer', async () => {
    const r = await run({ sources: { gen }, transforms: { u: { type: 'dedupe', inputs: ['gen'] }, f: { type: 'filter', inputs: ['u'], where: { id: { exists: true } } }, t: { type: 'tag', inputs: ['f'] } }, sinks: { out: { type: 'mem', inputs: ['t'] } } });
    expect(r.owned).toEqual([true, true, true]);
    expect(r.a.length).toBe(300);
    expect(r.a.every((e) => e.attributes.tagged === true)).toBe(true);
  });

  it('owns nothing behind fan-out: the other consumer keeps the events as the source made them', async () => {
    const r = await run({ sources: { gen }, transforms: { t: { type: 'tag', inputs: ['gen'] } }, sinks: { out: { type: 'mem', inputs: ['t'] }, raw: { type: 'mem2', inputs: ['gen'] } } });
    expect(r.owned.length).toBeGreaterThan(0);
    expect(r.owned.every((x) => !x)).toBe(true);
    expect(r.b.length).toBe(300);
    expect(r.b.some((e) => 'tagged' in e.attributes)).toBe(false);
    expect(r.a.every((e) => e.attributes.tagged === true)).toBe(true);
  });

  it('owns nothing behind fan-out further up the chain, nor past an output someone observes through Pipeline.output$', async () => {
    const upstream = await run({ sources: { gen }, transforms: { u: { type: 'dedupe', inputs: ['gen'] }, t: { type: 'tag', inputs: ['u'] } }, sinks: { out: { type: 'mem', inputs: ['t'] }, raw: { type: 'mem2', inputs: ['gen'] } } });
    expect(upstream.owned.every((x) => !x)).toBe(true);
    expect(upstream.b.some((e) => 'tagged' in e.attributes)).toBe(false);
    const observed = await run({ sources: { gen }, transforms: { u: { type: 'dedupe', inputs: ['gen'] }, t: { type: 'tag', inputs: ['u'] } }, sinks: { out: { type: 'mem', inputs: ['t'] } } }, 'u');
    expect(observed.owned.every((x) => !x)).toBe(true);
    expect(observed.seen.length).toBe(300);
    expect(observed.seen.some((e) => 'tagged' in e.attributes)).toBe(false);
  });

  it('owns nothing from a source or operator that does not declare it hands its events over, nor from a named output', async () => {
    const plain = await run({ sources: { plain: { type: 'plain' } }, transforms: { t: { type: 'tag', inputs: ['plain'] } }, sinks: { out: { type: 'mem', inputs: ['t'] } } });
    expect(plain.owned.every((x) => !x)).toBe(true);
    const mapped = await run({ sources: { gen }, transforms: { m: { type: 'map', inputs: ['gen'], set: { 'attributes.x': '1' } }, t: { type: 'tag', inputs: ['m'] } }, sinks: { out: { type: 'mem', inputs: ['t'] } } });
    expect(mapped.owned.every((x) => !x)).toBe(true);
    const routed = await run({ sources: { gen }, transforms: { r: { type: 'route', inputs: ['gen'], routes: { calls: { kind: 'call' } } }, t: { type: 'tag', inputs: ['r.calls'] } }, sinks: { out: { type: 'mem', inputs: ['t'] }, rest: { type: 'blackhole', inputs: ['r._unmatched'] } } });
    expect(routed.owned.every((x) => !x)).toBe(true);
  });
});
