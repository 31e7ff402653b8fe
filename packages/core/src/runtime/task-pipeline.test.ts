import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConfigErrors, corePlugins, createLogger, createPipeline, defineSink, defineSource, defineStateStore, PipelineError, PluginRegistry, StateError, z, type TaskMembership } from '../index.js';
import { FakeClock, MemoryStateStore, memorySink, testEvent } from '../testing/index.js';
import { RELAUNCH_AFTER_FENCED_MS } from './task-pipeline.js';

/** The membership double: the test decides which tasks this worker holds. */
class ScriptedMembership implements TaskMembership {
  listener: Parameters<TaskMembership['join']>[0] | undefined;
  left = 0;
  async join(listener: Parameters<TaskMembership['join']>[0]): Promise<void> {
    this.listener = listener;
  }
  async leave(): Promise<void> {
    this.left++;
  }
  give(...tasks: number[]): void {
    this.listener!.assigned(tasks);
  }
}

const EVENTS_PER_TASK = 40;

/**
 * A source split into tasks: task n emits t<n>-0 … t<n>-39, one page of one event every 5 ms, then
 * waits to be stopped. With `fail`, the first `times` copies of that task (all, without) throw `error`.
 */
function taskedSource(membership: ScriptedMembership, fail?: { task: number; error: Error; times?: number }) {
  let failures = 0;
  return defineSource({
    type: 'tasked',
    description: 'a source with a task per partition (test)',
    configSchema: z.strictObject({ task: z.int().optional() }),
    tasks: () => ({ membership: () => membership, configFor: (task) => ({ task }) }),
    create: (c, ctx) => ({
      bounded: false,
      async *read(checkpoint: { next: number } | undefined) {
        if (fail && fail.task === c.task && failures++ < (fail.times ?? Infinity)) throw fail.error;
        for (let i = checkpoint?.next ?? 0; i < EVENTS_PER_TASK && !ctx.signal.aborted; i++) {
          await sleep(5);
          yield { events: [testEvent(`t${c.task}-${i}`)], checkpoint: { next: i + 1 } };
        }
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      },
    }),
  });
}

/** A store every "worker" of the test shares (as a Kafka topic is), one MemoryStateStore per pipeline id, kept across closes. */
function sharedMemoryState() {
  const stores = new Map<string, MemoryStateStore>();
  return defineStateStore({
    type: 'shared',
    description: 'one memory store per pipeline id (test)',
    configSchema: z.strictObject({}),
    sharedByWorkers: true,
    create: (_c, ctx) => {
      let store = stores.get(ctx.pipelineId);
      if (!store) stores.set(ctx.pipelineId, (store = new MemoryStateStore()));
      return store;
    },
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await sleep(10);
  expect(condition()).toBe(true);
}

const yaml = `id: tasks
state: { type: shared }
runtime: { commit_interval: 20ms }
sources:
  raw: { type: tasked }
sinks:
  out: { type: memory, inputs: [raw] }
`;

describe('a pipeline with a task per partition (SourcePlugin.tasks)', () => {
  it('runs a copy per task it holds; a task taken away is drained and committed, and given back resumes there: every event once', async () => {
    const membership = new ScriptedMembership();
    const sink = memorySink();
    const p = await createPipeline(yaml, { plugins: new PluginRegistry([...corePlugins, sharedMemoryState(), taskedSource(membership), sink.plugin]), logger: createLogger({ level: 'silent' }) });
    await p.start();
    membership.give(0, 1);
    await until(() => sink.record.events.some((e) => e.id === 't0-10'));
    membership.give(1); // task 0 taken away mid-read
    await until(() => sink.record.events.filter((e) => e.id.startsWith('t1-')).length === EVENTS_PER_TASK);
    const t0SoFar = sink.record.events.filter((e) => e.id.startsWith('t0-')).length;
    expect(t0SoFar).toBeLessThan(EVENTS_PER_TASK);
    membership.give(0, 1, 2); // given back, and a new one
    await until(() => sink.record.events.length === 3 * EVENTS_PER_TASK);
    expect(p.stats().raw!.eventsOut).toBe(3 * EVENTS_PER_TASK);
    expect(p.health().ready).toBe(true);
    const result = await p.stop();
    const ids = sink.record.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(result.checkpoints).sort()).toEqual(['tasks-p0/raw', 'tasks-p1/raw', 'tasks-p2/raw']);
    expect(result.checkpoints['tasks-p0/raw']!.position).toEqual({ next: EVENTS_PER_TASK });
    expect(membership.left).toBe(1);
  });

  it('takes a task that ends fenced (STATE_FENCED, also under a sink\'s SINK_WRITE_FAILED) as handed over, and starts it again while the group still gives it to this worker; any other error of a task fails the pipeline and stops every task', async () => {
    // Task 1's first copy is fenced (by a copy elsewhere that was still starting when the task left
    // that worker): its sink's first write fails with SINK_WRITE_FAILED caused by the store's
    // STATE_FENCED. This worker still holds task 1, so it starts it again and the
    // partition is read. Task 0's source throws STATE_FENCED itself, once (a store fencing the
    // copy as it opens): started again too.
    const handed = new ScriptedMembership();
    const sink = memorySink();
    const copies: string[] = [];
    const failures: unknown[] = [];
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    /** When (on the clock) each copy's sink was made, and how many writes were fenced. */
    const madeAtMs: number[] = [];
    let fencedWrites = 0;
    const fencingSink = defineSink({
      type: 'fencing',
      description: 'memory, but the first write of the first copy of task 1 is fenced (test)',
      configSchema: z.strictObject({}),
      create: async (config, ctx) => {
        copies.push(ctx.pipelineId);
        madeAtMs.push(clock.now());
        const inner = await sink.plugin.create(config, ctx);
        const fenced = ctx.pipelineId === 'tasks-p1' && copies.filter((c) => c === 'tasks-p1').length === 1;
        return {
          write: async (batch) => {
            if (fenced) {
              fencedWrites++;
              // The sink's own error, caused by the store's: the code that says "handed over" is a level down.
              throw new PipelineError('SINK_WRITE_FAILED', 'the transaction was fenced', { cause: new StateError('STATE_FENCED', 'another worker took over', { retriable: false }), retriable: false });
            }
            return inner.write(batch);
          },
          close: () => inner.close(),
        };
      },
    });
    const sourceFencedOnce = { task: 0, times: 1, error: new StateError('STATE_FENCED', 'another worker took over', { retriable: false }) };
    // The relaunches wait RELAUNCH_AFTER_FENCED_MS on the pipeline's clock (moved 100 ms at a
    // time once both copies were fenced): made then, not before, not later.
    const fenced = await createPipeline(yaml.replace('type: memory', 'type: fencing'), { plugins: new PluginRegistry([...corePlugins, sharedMemoryState(), taskedSource(handed, sourceFencedOnce), fencingSink]), logger: createLogger({ level: 'silent' }), clock });
    fenced.done.catch((err: unknown) => failures.push(err));
    await fenced.start();
    handed.give(0, 1);
    await until(() => copies.length === 2 && fencedWrites === 1);
    await sleep(20);
    const fencedAt = clock.now();
    for (let i = 0; i < 400 && sink.record.events.length < 2 * EVENTS_PER_TASK; i++) {
      await clock.advance(100);
      await sleep(5);
    }
    expect(sink.record.events.length).toBe(2 * EVENTS_PER_TASK);
    expect(madeAtMs.slice(2)).toEqual([fencedAt + RELAUNCH_AFTER_FENCED_MS, fencedAt + RELAUNCH_AFTER_FENCED_MS]);
    expect(fenced.health().finished).toBe(false);
    // Each task ran twice: the fenced copy and the one started again.
    expect(copies.sort()).toEqual(['tasks-p0', 'tasks-p0', 'tasks-p1', 'tasks-p1']);
    const ids = sink.record.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    await fenced.stop();
    expect(failures).toEqual([]);

    const broken = new ScriptedMembership();
    const failing = await createPipeline(yaml, { plugins: new PluginRegistry([...corePlugins, sharedMemoryState(), taskedSource(broken, { task: 1, error: new PipelineError('TEST_BROKEN', 'broken', { retriable: false }) }), memorySink().plugin]), logger: createLogger({ level: 'silent' }) });
    await failing.start();
    broken.give(0, 1);
    await expect(failing.done).rejects.toMatchObject({ code: 'TEST_BROKEN' });
    expect(broken.left).toBe(1);
  });

  it('stopped before it started, it never joins the group and refuses a later start() (LIFECYCLE_ILLEGAL_TRANSITION); aborted before, done rejects with PIPELINE_ABORTED as a single pipeline\'s does', async () => {
    let joined = 0;
    const membership = new (class extends ScriptedMembership {
      override async join(listener: Parameters<TaskMembership['join']>[0]): Promise<void> {
        joined++;
        return super.join(listener);
      }
    })();
    const plugins = new PluginRegistry([...corePlugins, sharedMemoryState(), taskedSource(membership), memorySink().plugin]);
    const stopped = await createPipeline(yaml, { plugins, logger: createLogger({ level: 'silent' }) });
    await stopped.stop();
    await expect(stopped.start()).rejects.toMatchObject({ code: 'LIFECYCLE_ILLEGAL_TRANSITION' });
    expect(joined).toBe(0);
    expect(stopped.health()).toMatchObject({ started: false, finished: true });
    const aborted = await createPipeline(yaml, { plugins, logger: createLogger({ level: 'silent' }) });
    aborted.abort();
    await expect(aborted.done).rejects.toMatchObject({ code: 'PIPELINE_ABORTED' });
    expect(joined).toBe(0);
  });

  it('refuses --once (tasks never end), a second source beside it, and a state store given in code', async () => {
    const membership = new ScriptedMembership();
    const plugins = new PluginRegistry([...corePlugins, sharedMemoryState(), taskedSource(membership), memorySink().plugin]);
    const once = await createPipeline(yaml, { plugins, once: true, logger: createLogger({ level: 'silent' }) });
    await expect(once.start()).rejects.toMatchObject({ code: 'CONFIG_NOT_BOUNDED' });
    const two = createPipeline(`state: { type: shared }\nsources:\n  raw: { type: tasked }\n  gen: { type: generate, count: 1 }\nsinks:\n  out: { type: memory, inputs: [raw, gen] }\n`, { plugins, file: 'p.yaml' });
    await expect(two).rejects.toBeInstanceOf(ConfigErrors);
    await expect(two.catch((e: ConfigErrors) => e.errors.map((x) => [x.code, x.location?.line]))).resolves.toEqual([['CONFIG_TASKS_NOT_ALONE', 3]]);
    const codes = (p: Promise<unknown>) => p.then(() => [], (e: ConfigErrors) => e.errors.map((x) => x.code));
    expect(await codes(createPipeline(yaml, { plugins, stateStore: new MemoryStateStore() }))).toEqual(['CONFIG_TASKS_STATE_GIVEN']);
    expect(await codes(createPipeline(yaml.replace('{ type: shared }', '{ type: directory }'), { plugins }))).toEqual(['CONFIG_TASKS_STATE_NOT_SHARED']);
  });

  it('refuses a sink that writes this machine\'s files (every copy would write them), located at the sink', async () => {
    const localFiles = defineSink({ type: 'local', description: 'writes this machine\'s files', configSchema: z.strictObject({}), localOutput: true, create: () => ({ write: async () => {}, close: async () => {} }) });
    const plugins = new PluginRegistry([...corePlugins, sharedMemoryState(), taskedSource(new ScriptedMembership()), memorySink().plugin, localFiles]);
    const local = createPipeline(`${yaml}  files: { type: local, inputs: [raw] }\n`, { plugins, file: 'p.yaml' });
    await expect(local.catch((e: ConfigErrors) => e.errors.map((x) => [x.code, x.location?.line, x.fields?.component]))).resolves.toEqual([['CONFIG_TASKS_LOCAL_SINK', 8, 'files']]);
  });
});
