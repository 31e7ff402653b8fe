import { describe, expect, it } from 'vitest';
import { memorySink, testEvent, MemoryStateStore } from '../testing/index.js';
import { corePlugins, createLogger, createPipeline, defineSource, PluginRegistry, z, type JsonValue, type SourcePage } from '../index.js';

const logger = createLogger({ level: 'silent' });
const EVENTS = 10;

/** Version 1 kept the index of the next event; version 2 keeps the id of the last one delivered. */
type CheckpointV1 = { next: number };
type CheckpointV2 = { lastId: string };

const counterConfig = z.strictObject({ stop_after: z.int().optional() });

/** A source of `ev0`…`ev9`, one event a page, reading and writing version-2 checkpoints. */
function counterV2(opts: { version?: number; migrate?: boolean; failMigration?: boolean } = {}) {
  return defineSource({
    type: 'counter',
    description: 'counts to ten',
    configSchema: counterConfig,
    checkpointVersion: opts.version ?? 2,
    ...(opts.migrate === false
      ? {}
      : {
          migrateCheckpoint(position: JsonValue, fromVersion: number): CheckpointV2 {
            if (opts.failMigration) throw new Error('cannot read it');
            expect(fromVersion).toBe(1);
            return { lastId: `ev${(position as CheckpointV1).next - 1}` };
          },
        }),
    create: (config) => ({
      bounded: true,
      async *read(checkpoint: CheckpointV2 | undefined): AsyncGenerator<SourcePage<CheckpointV2>> {
        let i = checkpoint ? Number(checkpoint.lastId.slice(2)) + 1 : 0;
        for (; i < (config.stop_after ?? EVENTS); i++) yield { events: [testEvent(`ev${i}`)], checkpoint: { lastId: `ev${i}` } };
      },
    }),
  });
}

/** The same source as it was at version 1 (no checkpointVersion declared). */
const counterV1 = defineSource({
  type: 'counter',
  description: 'counts to ten',
  configSchema: counterConfig,
  create: (config) => ({
    bounded: true,
    async *read(checkpoint: CheckpointV1 | undefined): AsyncGenerator<SourcePage<CheckpointV1>> {
      for (let i = checkpoint?.next ?? 0; i < (config.stop_after ?? EVENTS); i++) yield { events: [testEvent(`ev${i}`)], checkpoint: { next: i + 1 } };
    },
  }),
});

async function run(source: ReturnType<typeof counterV2> | typeof counterV1, state: MemoryStateStore, stopAfter?: number) {
  const sink = memorySink({ type: 'mem' });
  const p = await createPipeline(
    { sources: { c: { type: 'counter', ...(stopAfter === undefined ? {} : { stop_after: stopAfter }) } }, sinks: { out: { type: 'mem', inputs: ['c'] } } },
    { plugins: new PluginRegistry([...corePlugins, source, sink.plugin]), logger, once: true, stateStore: state },
  );
  await p.start();
  const result = await p.done;
  return { ids: sink.record.events.map((e) => e.id), result };
}

describe('versioned checkpoints', () => {
  it('a plugin that raises its checkpoint version resumes from the older checkpoint through its migration, and stores the new version', async () => {
    const state = new MemoryStateStore();
    expect((await run(counterV1, state, 4)).ids).toEqual(['ev0', 'ev1', 'ev2', 'ev3']);
    expect(await state.get('checkpoints')).toEqual({ c: { seq: 4, position: { next: 4 } } });
    const { ids } = await run(counterV2(), state);
    expect(ids).toEqual(['ev4', 'ev5', 'ev6', 'ev7', 'ev8', 'ev9']);
    expect(await state.get('checkpoints')).toEqual({ c: { seq: 10, position: { lastId: 'ev9' }, version: 2 } });
  });

  it('refuses to start on a checkpoint newer than the plugin (CHECKPOINT_TOO_NEW), older with no migration, or a failed migration; the stored checkpoint stays as it was', async () => {
    const newer = new MemoryStateStore();
    await run(counterV2(), newer, 3);
    await expect(run(counterV1, newer)).rejects.toMatchObject({ code: 'CHECKPOINT_TOO_NEW', retriable: false, fields: { component: 'c', version: 2, supported: 1 } });

    const older = new MemoryStateStore();
    await run(counterV1, older, 3);
    await expect(run(counterV2({ migrate: false }), older)).rejects.toMatchObject({ code: 'CHECKPOINT_VERSION_UNSUPPORTED', retriable: false });
    await expect(run(counterV2({ failMigration: true }), older)).rejects.toMatchObject({ code: 'CHECKPOINT_MIGRATION_FAILED', retriable: false });
    expect(await older.get('checkpoints')).toEqual({ c: { seq: 3, position: { next: 3 } } });
  });
});
