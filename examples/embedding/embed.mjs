// Embedding plumline in a host application: the pipeline is an object, the host observes the
// events in-process through a sink of its own, and stops the pipeline when it wants to.
//   node examples/embedding/embed.mjs        (after pnpm build)
import { createLogger, createPipeline, defineSink, MemoryStateStore, z } from '@plumline/core';
import { builtinRegistry } from '@plumline/cli';

/** The host's own sink: hands each batch to a callback, then acknowledges it. */
function observer(onBatch) {
  return defineSink({
    type: 'host_observer',
    description: 'Hands each batch to the host application.',
    configSchema: z.strictObject({}),
    create: () => ({
      async write(batch) {
        await onBatch(batch.events);
      },
      async close() {},
    }),
  });
}

const byKind = new Map();
const registry = builtinRegistry();
registry.register(
  observer(async (events) => {
    for (const e of events) byKind.set(e.kind, (byKind.get(e.kind) ?? 0) + 1);
  }),
);

const pipeline = await createPipeline(
  {
    id: 'embedded',
    sources: { calls: { type: 'generate', count: 5000, seed: 3, batch_size: 500 } },
    transforms: {
      enriched: { type: 'enrich', inputs: ['calls'], local_time: { zone: 'America/Chicago' } },
      unique: { type: 'dedupe', inputs: ['enriched'] },
    },
    sinks: { host: { type: 'host_observer', inputs: ['unique'] } },
  },
  // State in memory: every run starts over. A host that must resume after a restart leaves this
  // out and sets `state:` in the definition (a directory, or Kafka) instead.
  { plugins: registry, once: true, logger: createLogger({ level: 'warn' }), stateStore: new MemoryStateStore() },
);
await pipeline.start();
const result = await pipeline.done;
console.log(JSON.stringify({ byKind: Object.fromEntries(byKind), delivered: result.stats.host.eventsOut }));
