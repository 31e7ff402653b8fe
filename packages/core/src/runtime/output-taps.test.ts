import { describe, expect, it } from 'vitest';
import { toArray, lastValueFrom, filter } from 'rxjs';
import { memorySink, MemoryStateStore } from '../testing/index.js';
import { corePlugins, createLogger, createPipeline, defineOperator, mapEvents, PipelineError, PluginRegistry, z, type CallEvent } from '../index.js';

const logger = createLogger({ level: 'silent' });

async function pipeline(count: number) {
  const sink = memorySink({ type: 'mem' });
  const p = await createPipeline(
    {
      sources: { gen: { type: 'generate', count, batch_size: 100, duplicate_ratio: 0.2 } },
      transforms: { u: { type: 'dedupe', inputs: ['gen'] }, r: { type: 'route', inputs: ['u'], routes: { calls: { kind: 'call' } } } },
      sinks: { calls: { type: 'mem', inputs: ['r.calls'] }, rest: { type: 'blackhole', inputs: ['r._unmatched'] } },
    },
    { plugins: new PluginRegistry([...corePlugins, sink.plugin]), logger, once: true, stateStore: new MemoryStateStore() },
  );
  return { p, sink };
}

describe('Pipeline.output$: the events leaving a component, as an Observable', () => {
  it('shows what leaves a source, a transform and a named output, completes when the pipeline ends, and changes nothing downstream', async () => {
    const { p, sink } = await pipeline(2_000);
    const generated = lastValueFrom(p.output$('gen').pipe(toArray()));
    const unique = lastValueFrom(p.output$('u').pipe(toArray()));
    const calls = lastValueFrom(p.output$('r.calls').pipe(filter((e: CallEvent) => e.kind === 'call'), toArray()));
    await p.start();
    const result = await p.done;
    expect((await generated).length).toBe(2_000);
    expect((await unique).length).toBe(result.stats.u!.eventsOut);
    expect(new Set((await unique).map((e) => e.id)).size).toBe((await unique).length);
    expect((await calls).map((e) => e.id)).toEqual(sink.record.events.map((e) => e.id));
  });

  it('refuses a reference the pipeline does not have (PIPELINE_UNKNOWN_OUTPUT), and a late subscriber gets a completed stream', async () => {
    const { p } = await pipeline(10);
    expect(() => p.output$('nope')).toThrow(expect.objectContaining({ code: 'PIPELINE_UNKNOWN_OUTPUT' }));
    expect(() => p.output$('calls')).toThrow(expect.objectContaining({ code: 'PIPELINE_UNKNOWN_OUTPUT' })); // a sink has no output
    // A route's events leave by its named outputs only, as a sink's inputs must name them: the bare id is refused, with the names to use.
    expect(() => p.output$('r')).toThrow(expect.objectContaining({ code: 'PIPELINE_UNKNOWN_OUTPUT', message: 'component "r" has named outputs: observe one of r.calls, r._unmatched' }));
    await p.start();
    await p.done;
    expect(await lastValueFrom(p.output$('gen').pipe(toArray()))).toEqual([]);
  });

  it('shows the dead-letter stream too: each refused record as a dead_letter event, whoever writes it', async () => {
    const picky = defineOperator({
      type: 'picky',
      description: 'refuses every fifth event',
      configSchema: z.strictObject({}),
      create: () => ({ apply: mapEvents((e) => {
        if (Number(e.attributes.index) % 5 === 0) throw new PipelineError('PICKY_REFUSED', 'not this one');
        return e;
      }) }),
    });
    const p = await createPipeline(
      { sources: { gen: { type: 'generate', count: 20 } }, transforms: { p: { type: 'picky', inputs: ['gen'] } }, sinks: { out: { type: 'blackhole', inputs: ['p'] }, dead: { type: 'blackhole', inputs: ['dead_letter'] } } },
      { plugins: new PluginRegistry([...corePlugins, picky]), logger, once: true, stateStore: new MemoryStateStore() },
    );
    const dead = lastValueFrom(p.output$('dead_letter').pipe(toArray()));
    await p.start();
    const result = await p.done;
    expect((await dead).map((e) => [e.kind, e.attributes.code])).toEqual(Array.from({ length: 4 }, () => ['dead_letter', 'PICKY_REFUSED']));
    expect(result.stats.dead!.eventsIn).toBe(4);
  });
});
