import { describe, expect, it } from 'vitest';
import { createPipeline, createLogger, definePipeline } from '../index.js';
import { blackholeSink, dedupeOperator, generateSource, routeOperator } from '../builtins.js';
import { MemoryStateStore } from '../testing/index.js';

const plugins = [generateSource, dedupeOperator, routeOperator, blackholeSink] as const;

describe('definePipeline: a pipeline in code, typed by its plugins', () => {
  it('runs as the YAML would', async () => {
    const def = definePipeline(plugins, {
      sources: { gen: { type: 'generate', count: 500, duplicate_ratio: 0.2 } },
      transforms: { u: { type: 'dedupe', inputs: ['gen'], ttl: '1h' } },
      sinks: { out: { type: 'blackhole', inputs: ['u'] } },
    });
    const p = await createPipeline(def, { plugins, once: true, stateStore: new MemoryStateStore(), logger: createLogger({ level: 'silent' }) });
    await p.start();
    expect((await p.done).stats.gen!.eventsOut).toBe(500);
  });

  // What the compiler refuses is checked by `tsc -p tsconfig.tests.json` (part of the test
  // command): each @ts-expect-error below must meet an error, or the type check fails.
  it('does not compile a misspelled key, a wrong value type, an unknown type or a sink without inputs', () => {
    const wrong = [
      // @ts-expect-error `cnt` is not a key of generate (count is)
      definePipeline(plugins, { sources: { gen: { type: 'generate', cnt: 10 } }, sinks: { out: { type: 'blackhole', inputs: ['gen'] } } }),
      // @ts-expect-error count is a number
      definePipeline(plugins, { sources: { gen: { type: 'generate', count: 'ten' } }, sinks: { out: { type: 'blackhole', inputs: ['gen'] } } }),
      // @ts-expect-error no plugin of type genrate among those given
      definePipeline(plugins, { sources: { gen: { type: 'genrate' } }, sinks: { out: { type: 'blackhole', inputs: ['gen'] } } }),
      // @ts-expect-error a sink names its inputs
      definePipeline(plugins, { sources: { gen: { type: 'generate' } }, sinks: { out: { type: 'blackhole' } } }),
    ];
    expect(wrong).toHaveLength(4);
  });
});
