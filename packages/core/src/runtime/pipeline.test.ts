import { describe, expect, it } from 'vitest';
import { arraySource, FakeClock, memorySink, testEvent, MemoryStateStore } from '../testing/index.js';
import { ABORT_GRACE_MS } from './pipeline.js';
import { ATOMIC_GROUP_WAIT_MS } from './sink-runner.js';
import { corePlugins, createPipeline, defineOperator, defineSink, defineSource, mapEvents, PipelineError, PluginRegistry, z, type CallEvent, type JsonValue, type StateStore } from '../index.js';
import { tmpDir } from '../testing/tmp-dir.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import v8 from 'node:v8';
import { getEventListeners } from 'node:events';
import { runInNewContext } from 'node:vm';
import { concatMap, tap } from 'rxjs';
import { Writable } from 'node:stream';

const silent = { level: 'silent' } as const;
import { createLogger } from '../logger.js';
const logger = createLogger(silent);

function events(prefix: string, n: number, from = 0): CallEvent[] {
  return Array.from({ length: n }, (_, i) => testEvent(`${prefix}${from + i}`));
}

function registry(...extra: Parameters<PluginRegistry['register']>[0][]): PluginRegistry {
  return new PluginRegistry([...corePlugins, ...extra]);
}

/** Records every checkpoint document written, to check what was committed when. */
class RecordingStore extends MemoryStateStore implements StateStore {
  readonly commits: Record<string, { seq: number }>[] = [];
  constructor(private readonly onCommit?: (c: Record<string, { seq: number }>) => void) {
    super();
  }
  override async set(key: string, value: JsonValue): Promise<void> {
    if (key === 'checkpoints') {
      const c = value as unknown as Record<string, { seq: number }>;
      this.onCommit?.(c);
      this.commits.push(c);
    }
    await super.set(key, value);
  }
}

describe('pipeline runtime', () => {
  it('tells a source each durable checkpoint of its own (Source.committed), the last one before close, and never one the store does not hold', async () => {
    const told: unknown[] = [];
    const order: string[] = [];
    const store = new RecordingStore();
    const src = defineSource({
      type: 'told_src',
      description: 'three pages; records what it is told',
      configSchema: z.strictObject({}),
      create: () => ({
        bounded: true,
        async *read() {
          for (let i = 0; i < 3; i++) yield { events: events(`t${i}-`, 2), checkpoint: { next: i + 1 } };
        },
        async committed(checkpoint: { next: number }) {
          // The store must hold it already.
          const stored = (await store.get('checkpoints')) as Record<string, { position: unknown }> | undefined;
          expect(stored?.['s']?.position).toEqual(checkpoint);
          told.push(checkpoint);
          order.push('committed');
        },
        async close() {
          order.push('close');
        },
      }),
    });
    const p = await createPipeline({ sources: { s: { type: 'told_src' } }, sinks: { out: { type: 'blackhole', inputs: ['s'] } } }, { plugins: registry(src), logger, once: true, stateStore: store });
    await p.start();
    await p.done;
    expect(told.length).toBeGreaterThan(0);
    expect(told[told.length - 1]).toEqual({ next: 3 });
    expect(order[order.length - 1]).toBe('close');
    expect(order.filter((o) => o === 'close')).toHaveLength(1);
  });

  describe('a receipt released twice (an operator releases a batch it also passes on)', () => {
    const releasesTwice = defineOperator({
      type: 'releases_twice',
      description: 'releases each receipt and still passes the batch on: the sink releases it again',
      configSchema: z.strictObject({}),
      create: () => ({ apply: (input) => input.pipe(tap((b) => b.receipt.release())) }),
    });
    const run = async (strictReceipts: boolean | undefined) => {
      const src = arraySource([events('r', 2), events('r', 2, 2)], 'src_twice');
      const lines: unknown[] = [];
      const p = await createPipeline(
        { sources: { s: { type: 'src_twice' } }, transforms: { t: { type: 'releases_twice', inputs: ['s'] } }, sinks: { out: { type: 'blackhole', inputs: ['t'] } } },
        { plugins: registry(src, releasesTwice), logger: createLogger({ level: 'error', destination: new Writable({ write: (l: Buffer, _enc, done) => done(void lines.push(JSON.parse(l.toString()))) }) }), once: true, stateStore: new MemoryStateStore(), ...(strictReceipts === undefined ? {} : { strictReceipts }) },
      );
      await p.start();
      return { p, lines };
    };

    it('fails the pipeline with RECEIPT_RELEASED_TWICE under a test runner', async () => {
      const { p } = await run(undefined);
      await expect(p.done).rejects.toMatchObject({ code: 'RECEIPT_RELEASED_TWICE' });
    });

    it('is logged with its code and counted as an error of the source in production', async () => {
      const { p, lines } = await run(false);
      await p.done;
      expect(lines.filter((l) => (l as { code?: string }).code === 'RECEIPT_RELEASED_TWICE').length).toBe(2);
      expect(p.stats().s!.errors).toBe(2);
    });
  });

  it('shutdown_timeout ends a stop stuck in a commit hook that never returns (abort ends finish), failing with PIPELINE_ABORTED', async () => {
    const src = arraySource([events('h', 3)], 'src_hook');
    const stuck = defineOperator({
      type: 'stuck_hook',
      description: 'a commit hook that never returns',
      configSchema: z.strictObject({}),
      create: (_c, ctx) => {
        ctx.onCommit(() => new Promise<void>(() => {}));
        return { apply: mapEvents((e) => e) };
      },
    });
    // On a fake clock: the stop ends when the clock passes shutdown_timeout, then the abort's
    // grace, and not before — whatever the machine's load.
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const p = await createPipeline(
      { runtime: { shutdown_timeout: '200ms', commit_interval: '1h' }, sources: { s: { type: 'src_hook' } }, transforms: { t: { type: 'stuck_hook', inputs: ['s'] } }, sinks: { out: { type: 'blackhole', inputs: ['t'] } } },
      { plugins: registry(src, stuck), logger, stateStore: new MemoryStateStore(), clock },
    );
    await p.start();
    let settledAtMs: number | undefined;
    const stopped = p.stop().finally(() => (settledAtMs = passedMs));
    stopped.catch(() => {});
    let passedMs = 0;
    await clock.advance(0);
    while (settledAtMs === undefined && passedMs < 10_000) {
      await clock.advance(50);
      passedMs += 50;
      await new Promise((r) => setImmediate(r));
    }
    await expect(stopped).rejects.toMatchObject({ code: 'PIPELINE_ABORTED' });
    expect(settledAtMs).toBeGreaterThanOrEqual(200 + ABORT_GRACE_MS);
    expect(settledAtMs).toBeLessThanOrEqual(200 + ABORT_GRACE_MS + 100);
  }, 15_000);

  it('shutdown_timeout also bounds a stop that comes while the pipeline is finishing on its own (its source ended) in a commit hook that never returns', async () => {
    const src = arraySource([events('f', 3)], 'src_end_hook');
    let hookCalls = 0;
    const stuck = defineOperator({
      type: 'stuck_final_hook',
      description: 'a commit hook that never returns',
      configSchema: z.strictObject({}),
      create: (_c, ctx) => {
        ctx.onCommit(() => (hookCalls++, new Promise<void>(() => {})));
        return { apply: mapEvents((e) => e) };
      },
    });
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const p = await createPipeline(
      { runtime: { shutdown_timeout: '200ms', commit_interval: '1h' }, sources: { s: { type: 'src_end_hook' } }, transforms: { t: { type: 'stuck_final_hook', inputs: ['s'] } }, sinks: { out: { type: 'blackhole', inputs: ['t'] } } },
      { plugins: registry(src, stuck), logger, stateStore: new MemoryStateStore(), clock, once: true },
    );
    await p.start();
    for (let i = 0; i < 200 && hookCalls === 0; i++) await new Promise((r) => setImmediate(r));
    expect(hookCalls).toBe(1);
    let passedMs = 0;
    let settledAtMs: number | undefined;
    const stopped = p.stop().finally(() => (settledAtMs = passedMs));
    stopped.catch(() => {});
    while (settledAtMs === undefined && passedMs < 5_000) {
      await clock.advance(50);
      passedMs += 50;
      await new Promise((r) => setImmediate(r));
    }
    expect(settledAtMs).toBeDefined();
    await expect(stopped).rejects.toMatchObject({ code: 'PIPELINE_ABORTED' });
    expect(settledAtMs).toBeLessThanOrEqual(200 + ABORT_GRACE_MS + 100);
  }, 15_000);

  it('removes its listener from the embedder\'s signal once it ended', async () => {
    const controller = new AbortController();
    const src = arraySource([events('s', 3)], 'src_signal');
    const p = await createPipeline({ sources: { s: { type: 'src_signal' } }, sinks: { out: { type: 'blackhole', inputs: ['s'] } } }, { plugins: registry(src), logger, once: true, stateStore: new MemoryStateStore(), signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await p.start();
    await p.done;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('checks events where they enter: what a source emits that is not a CallEvent goes to the dead letters with the reason', async () => {
    const bad = [
      { ...testEvent('t-array'), time: ['2026'] },
      { ...testEvent('x'), id: '' },
      { ...testEvent('attrs'), attributes: null },
      { ...testEvent('dir'), direction: 'sideways' },
      { ...testEvent('when'), time: 'yesterday' },
    ] as unknown as CallEvent[];
    const src = arraySource([[testEvent('ok1'), ...bad, testEvent('ok2')]], 'src_shapes');
    const out = memorySink({ type: 'mem_ok' });
    const dead = memorySink({ type: 'mem_dead' });
    const p = await createPipeline(
      { sources: { s: { type: 'src_shapes' } }, sinks: { out: { type: 'mem_ok', inputs: ['s'] }, dead: { type: 'mem_dead', inputs: ['dead_letter'] } } },
      { plugins: registry(src, out.plugin, dead.plugin), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    await p.done;
    expect(out.record.events.map((e) => e.id)).toEqual(['ok1', 'ok2']);
    expect(dead.record.events.map((e) => e.attributes.code)).toEqual(Array(5).fill('EVENT_INVALID'));
    expect(String(dead.record.events[0]!.attributes.reason)).toContain('time');
  });

  it('never starves the event loop: under a source and sink that never wait, timers fire while events flow, and stop() ends it', async () => {
    const p = await createPipeline(
      { sources: { gen: { type: 'generate', batch_size: 1000 } }, transforms: { u: { type: 'dedupe', inputs: ['gen'], persist: false } }, sinks: { none: { type: 'blackhole', inputs: ['u'] } } },
      { plugins: registry(), logger, stateStore: new MemoryStateStore() },
    );
    await p.start();
    // No wall-clock bound (the machine's load would decide it): a loop the source starved fires
    // no timer at all, and the test times out.
    const counted = [p.stats().gen!.eventsOut];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 0));
      counted.push(p.stats().gen!.eventsOut);
    }
    // The timers fired and events flowed meanwhile. Not each pair of turns: on a loaded machine two
    // timers can fire in one turn of the loop, with no batch between them (seen: 1000, 1000).
    expect(counted.at(-1)!, counted.join(' ')).toBeGreaterThan(counted[0]!);
    await p.stop();
  }, 30_000);

  // The runtime decides what a stream's error means (GraphBuilder.failOnError), not the dead-letter router.
  it.each(['source', 'operator'] as const)('an error of the %s\'s stream fails the pipeline with it, counted once as that component\'s, after the dead letters it sent before', async (failing) => {
    const broken = new PipelineError('TEST_STREAM_BROKEN', 'the stream broke', { retriable: false });
    const src = defineSource({
      type: `src_breaks_${failing}`,
      description: 'one page with a dead letter, then (as the source) an error',
      configSchema: z.strictObject({}),
      create: () => ({
        bounded: true,
        async *read() {
          yield { events: events('e', 2), dead: [{ code: 'TEST_BAD', reason: 'refused', record: 'x' }] };
          if (failing === 'source') throw broken;
        },
      }),
    });
    const op = defineOperator({
      type: `op_breaks_${failing}`,
      description: 'passes batches on; (as the operator) errors its stream on the first',
      configSchema: z.strictObject({}),
      create: () => ({ apply: tap(() => { if (failing === 'operator') throw broken; }) }),
    });
    const dlq = memorySink({ type: `dlq_${failing}` });
    const p = await createPipeline(
      { sources: { s: { type: src.type } }, transforms: { o: { type: op.type, inputs: ['s'] } }, sinks: { out: { type: 'blackhole', inputs: ['o'] }, dlq: { type: dlq.plugin.type, inputs: ['dead_letter'] } } },
      { plugins: registry(src, op, dlq.plugin), logger, stateStore: new MemoryStateStore() },
    );
    await p.start();
    await expect(p.done).rejects.toMatchObject({ code: 'TEST_STREAM_BROKEN' });
    const stats = p.stats();
    const owner = failing === 'source' ? 's' : 'o';
    expect(stats[owner]).toMatchObject({ errors: 1, lastError: { code: 'TEST_STREAM_BROKEN', retriable: false } });
    expect(stats[failing === 'source' ? 'o' : 's']!.errors).toBe(0);
    expect(dlq.record.events.map((e) => e.attributes.code)).toEqual(['TEST_BAD']);
  }, 30_000);

  it('an error plumline does not know (a TypeError in a sink) is retried a few times, then fails the pipeline instead of hanging', async () => {
    const src = arraySource([events('t', 3)], 'src_typeerror');
    let attempts = 0;
    const sink = defineSink({
      type: 'throws_typeerror',
      description: 'a buggy sink',
      configSchema: z.strictObject({}),
      create: () => ({
        write: async () => {
          attempts++;
          (undefined as unknown as { x: () => void }).x();
        },
        close: async () => {},
      }),
    });
    const p = await createPipeline({ sources: { s: { type: 'src_typeerror' } }, sinks: { out: { type: 'throws_typeerror', inputs: ['s'] } } }, { plugins: registry(src, sink), logger, once: true, stateStore: new MemoryStateStore() });
    await p.start();
    await expect(p.done).rejects.toMatchObject({ code: 'SINK_WRITE_FAILED' });
    expect(attempts).toBe(5);
  }, 30_000);

  it('a fatal sink error stops the line: batches queued behind it are failed, never written, and no checkpoint passes it', async () => {
    const src = arraySource(Array.from({ length: 10 }, (_, i) => events(`b${i}-`, 5)), 'src_fatal');
    const written: string[] = [];
    const sink = defineSink({
      type: 'fails_second',
      description: 'fails its second batch for good',
      configSchema: z.strictObject({}),
      create: () => ({
        write: async (batch) => {
          await new Promise((r) => setTimeout(r, 20));
          written.push(batch.events[0]!.id);
          if (written.length === 2) throw new PipelineError('TEST_PERMANENT', 'cannot ever write this', { retriable: false });
        },
        close: async () => {},
      }),
    });
    const state = new RecordingStore();
    const p = await createPipeline(
      { runtime: { max_in_flight_batches: 8 }, sources: { s: { type: 'src_fatal' } }, sinks: { out: { type: 'fails_second', inputs: ['s'] } } },
      { plugins: registry(src, sink), logger, once: true, stateStore: state },
    );
    await p.start();
    await expect(p.done).rejects.toMatchObject({ code: 'TEST_PERMANENT' });
    expect(written).toEqual(['b0-0', 'b1-0']);
    expect(Math.max(0, ...state.commits.map((c) => c.s?.seq ?? 0))).toBeLessThanOrEqual(1);
  });

  it('merges inputs (fan-in) and gives every sink every batch (fan-out)', async () => {
    const a = arraySource([events('a', 3), events('a', 2, 3)], 'src_a');
    const b = arraySource([events('b', 4)], 'src_b');
    const s1 = memorySink({ type: 'mem1' });
    const s2 = memorySink({ type: 'mem2', maxInFlight: 4 });
    const state = new RecordingStore();
    const p = await createPipeline(
      {
        sources: { a: { type: 'src_a' }, b: { type: 'src_b' } },
        transforms: { both: { type: 'filter', inputs: ['a', 'b'], where: {} } },
        sinks: { one: { type: 'mem1', inputs: ['both'] }, two: { type: 'mem2', inputs: ['both', 'a'] } },
      },
      { plugins: registry(a, b, s1.plugin, s2.plugin), logger, once: true, stateStore: state },
    );
    await p.start();
    const result = await p.done;
    expect(s1.record.events.map((e) => e.id).sort()).toEqual([...events('a', 5), ...events('b', 4)].map((e) => e.id).sort());
    // `two` takes `both` and `a` directly: a's events twice, b's once.
    expect(s2.record.events).toHaveLength(5 * 2 + 4);
    expect(result.checkpoints).toEqual({ a: { seq: 2, position: { next: 2 } }, b: { seq: 1, position: { next: 1 } } });
    expect(await state.get('checkpoints')).toEqual(result.checkpoints);
    expect(s1.record.closed).toBe(1);
    expect(s1.record.flushed).toBe(1);
  });

  it('advances a checkpoint only over batches every sink acknowledged, whatever order acks come in', async () => {
    const pages = Array.from({ length: 60 }, (_, i) => events(`p${i}-`, 5));
    const src = arraySource(pages);
    const done = new Set<number>();
    /** The highest seq of each write, in the order the writes were acknowledged. */
    const acked: number[] = [];
    // Writes wait until 4 are outstanding and a checkpoint was committed since the last of them
    // were acknowledged (or 20 ms passed: the last few), and are then acknowledged newest first:
    // acknowledgements come in out of order, with commits between them.
    let waiting: { seqs: number[]; ack: () => void }[] = [];
    let committedSinceAck = true;
    let timer: NodeJS.Timeout | undefined;
    const ackNewestFirst = () => {
      clearTimeout(timer);
      timer = undefined;
      committedSinceAck = false;
      const now = waiting.reverse();
      waiting = [];
      for (const w of now) {
        for (const seq of w.seqs) done.add(seq);
        acked.push(Math.max(...w.seqs));
        w.ack();
      }
    };
    const ackWhenDue = () => {
      if (waiting.length >= 4 && committedSinceAck) ackNewestFirst();
      else if (waiting.length > 0) timer ??= setTimeout(ackNewestFirst, 20);
    };
    const tracking = defineSink({
      type: 'tracking',
      description: 'acknowledges the writes in flight newest first',
      configSchema: z.strictObject({}),
      create: () => ({
        maxInFlight: 8,
        write: (batch) =>
          new Promise<void>((ack) => {
            waiting.push({ seqs: batch.positions.map((p) => p.seq), ack });
            ackWhenDue();
          }),
        close: async () => clearTimeout(timer),
      }),
    });
    const state = new RecordingStore((c) => {
      for (let seq = 1; seq <= c.src!.seq; seq++) expect(done.has(seq), `seq ${seq} committed before its write completed`).toBe(true);
      committedSinceAck = true;
      ackWhenDue();
    });
    const p = await createPipeline(
      { runtime: { commit_interval: '5ms' }, sources: { src: { type: 'array' } }, sinks: { out: { type: 'tracking', inputs: ['src'] } } },
      { plugins: registry(src, tracking), logger, once: true, stateStore: state },
    );
    await p.start();
    const result = await p.done;
    // The acknowledgements did come out of order: a write acknowledged before an older one.
    expect(acked.filter((seq, i) => i > 0 && seq < acked[i - 1]!).length, acked.join(' ')).toBeGreaterThan(0);
    expect(result.checkpoints.src!.seq).toBe(60);
    expect(state.commits.length).toBeGreaterThan(1);
    const seqs = state.commits.map((c) => c.src!.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
  });

  it('back-pressures a fast source behind a slow sink: bounded batches in flight, flat memory', async () => {
    const maxInFlight = 4;
    let written = 0;
    let maxAhead = 0;
    // Live heap after a full GC, sampled every 200k events: it must not grow with the events offered.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapSamples: number[] = [];
    const slowSink = defineSink({
      type: 'slow',
      description: 'slow',
      configSchema: z.strictObject({}),
      create(_c, ctx) {
        return {
          async write(batch) {
            await new Promise((r) => setTimeout(r, 1));
            written += batch.events.length;
            if (written % 200_000 === 0) {
              gc();
              heapSamples.push(process.memoryUsage().heapUsed);
            }
            void ctx;
          },
          close: async () => {},
        };
      },
    });
    const p = await createPipeline(
      {
        runtime: { max_in_flight_batches: maxInFlight },
        sources: { gen: { type: 'generate', count: 2_000_000, batch_size: 5000 } },
        transforms: { m: { type: 'map', inputs: ['gen'], set: { 'attributes.x': 1 } } },
        sinks: { out: { type: 'slow', inputs: ['m'] } },
      },
      { plugins: registry(slowSink), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    const timer = setInterval(() => {
      const s = p.stats();
      maxAhead = Math.max(maxAhead, s.gen!.eventsOut - written);
    }, 1);
    const result = await p.done;
    clearInterval(timer);
    expect(written).toBe(2_000_000);
    expect(result.stats.gen!.eventsOut).toBe(2_000_000);
    // The source is never more than max_in_flight_batches pages ahead of the sink.
    expect(maxAhead).toBeLessThanOrEqual(maxInFlight * 5000);
    // 2 million events (about 800 MB if they were all held) passed; the live heap stayed flat.
    expect(heapSamples).toHaveLength(10);
    const growth = Math.max(...heapSamples.slice(1)) - heapSamples[0]!;
    expect(growth).toBeLessThan(32 * 1024 * 1024);
  });

  it('sends records an operator cannot process to the dead-letter output with the reason, and delivers the rest', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const picky = defineOperator({
        type: 'picky',
        description: 'fails on odd events',
        configSchema: z.strictObject({}),
        create() {
          return {
            apply: mapEvents((e) => {
              if (Number(e.id.slice(1)) % 2 === 1) throw new PipelineError('ODD_EVENT', `event ${e.id} is odd`);
              return e;
            }),
          };
        },
      });
      const src = arraySource([events('e', 6)]);
      const sink = memorySink();
      const p = await createPipeline(
        { dead_letter: { path: join(dir, 'dlq.ndjson') }, sources: { src: { type: 'array' } }, transforms: { pick: { type: 'picky', inputs: ['src'] } }, sinks: { out: { type: 'memory', inputs: ['pick'] } } },
        { plugins: registry(src, picky, sink.plugin), logger, once: true, stateStore: new MemoryStateStore() },
      );
      await p.start();
      const result = await p.done;
      expect(sink.record.events.map((e) => e.id)).toEqual(['e0', 'e2', 'e4']);
      const dead = (await readFile(join(dir, 'dlq.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as CallEvent);
      expect(dead.map((d) => (d.raw as CallEvent).id)).toEqual(['e1', 'e3', 'e5']);
      expect(dead[0]!.attributes).toMatchObject({ code: 'ODD_EVENT', component: 'pick' });
      expect(result.stats.pick!.deadLettered).toBe(3);
      expect(result.checkpoints.src!.seq).toBe(1);
    } finally {
      await cleanup();
    }
  });

  it('keeps a dead letter whose record JSON cannot represent (a BigInt, a cycle) in the dead-letter file, and goes on', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // An operator that puts a BigInt and a cycle in each event, and one that refuses every event.
      const odd = defineOperator({
        type: 'odd',
        description: 'adds what JSON cannot write',
        configSchema: z.strictObject({}),
        create: () => ({
          apply: mapEvents((e) => {
            const attributes: Record<string, unknown> = { ...e.attributes, big: 2n ** 70n };
            attributes.self = attributes;
            return { ...e, attributes };
          }),
        }),
      });
      const refuse = defineOperator({
        type: 'refuse',
        description: 'fails on every event',
        configSchema: z.strictObject({}),
        create: () => ({ apply: mapEvents((e) => { throw new PipelineError('REFUSED', `event ${e.id} refused`); }) }),
      });
      const src = arraySource([events('e', 2), events('f', 1)]);
      const p = await createPipeline(
        { dead_letter: { path: join(dir, 'dlq.ndjson') }, sources: { src: { type: 'array' } }, transforms: { o: { type: 'odd', inputs: ['src'] }, r: { type: 'refuse', inputs: ['o'] } }, sinks: { out: { type: 'blackhole', inputs: ['r'] } } },
        { plugins: registry(src, odd, refuse), logger, once: true, stateStore: new MemoryStateStore() },
      );
      await p.start();
      const result = await p.done;
      const dead = (await readFile(join(dir, 'dlq.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as CallEvent);
      expect(dead.map((d) => [(d.raw as CallEvent).id, (d.raw as CallEvent).attributes.big, (d.raw as CallEvent).attributes.self])).toEqual([
        ['e0', '1180591620717411303424', '[Circular]'],
        ['e1', '1180591620717411303424', '[Circular]'],
        ['f0', '1180591620717411303424', '[Circular]'],
      ]);
      expect(result.checkpoints.src!.seq).toBe(2);
    } finally {
      await cleanup();
    }
  });

  it('lets a sink take the dead_letter stream', async () => {
    const src = arraySource([[testEvent('ok')]]);
    const bad = defineOperator({
      type: 'bad',
      description: 'dead-letters everything',
      configSchema: z.strictObject({}),
      create: () => ({ apply: mapEvents(() => { throw new Error('nope'); }) }),
    });
    const sink = memorySink();
    const p = await createPipeline(
      { sources: { src: { type: 'array' } }, transforms: { b: { type: 'bad', inputs: ['src'] } }, sinks: { dlq: { type: 'memory', inputs: ['dead_letter'] }, out: { type: 'blackhole', inputs: ['b'] } } },
      { plugins: registry(src, bad, sink.plugin), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    await p.done;
    expect(sink.record.events).toHaveLength(1);
    expect(sink.record.events[0]).toMatchObject({ kind: 'dead_letter', attributes: { code: 'PROCESSING_FAILED', reason: 'nope', component: 'b' } });
  });

  it('retries a failing sink write with backoff and delivers every event once', async () => {
    const src = arraySource([events('r', 3), events('r', 3, 3)]);
    const sink = memorySink({ failTimes: 2 });
    const p = await createPipeline(
      { sources: { src: { type: 'array' } }, transforms: { d: { type: 'dedupe', inputs: ['src'] } }, sinks: { out: { type: 'memory', inputs: ['d'] } } },
      { plugins: registry(src, sink.plugin), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    const result = await p.done;
    expect(sink.record.events.map((e) => e.id)).toEqual(events('r', 6).map((e) => e.id));
    expect(result.stats.out!.retries).toBe(2);
  });

  it('routes events to named outputs; an output nobody takes still settles its batches', async () => {
    const src = arraySource([[testEvent('s1'), testEvent('c1', { kind: 'call' }), testEvent('x1', { kind: 'other' })]]);
    const calls = memorySink({ type: 'calls' });
    const rest = memorySink({ type: 'rest' });
    const p = await createPipeline(
      {
        sources: { src: { type: 'array' } },
        transforms: { r: { type: 'route', inputs: ['src'], routes: { calls: { kind: 'call' }, sessions: { kind: 'session' } } } },
        sinks: { c: { type: 'calls', inputs: ['r.calls'] }, u: { type: 'rest', inputs: ['r._unmatched'] } },
      },
      { plugins: registry(src, calls.plugin, rest.plugin), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await p.start();
    const result = await p.done;
    expect(calls.record.events.map((e) => e.id)).toEqual(['c1']);
    expect(rest.record.events.map((e) => e.id)).toEqual(['x1']);
    expect(result.checkpoints.src!.seq).toBe(1);
  });

  it('runs commit hooks downstream first, and tells the last commit it is final', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const calls: string[] = [];
    let hooksRan!: () => void;
    const firstCommit = new Promise<void>((r) => (hooksRan = r));
    const hooked = defineOperator({
      type: 'hooked',
      description: 'records its commit hooks',
      configSchema: z.strictObject({ name: z.string() }),
      create: (c, ctx) => {
        ctx.onCommit(async (info) => {
          calls.push(`${c.name}${info.final ? ':final' : ''}`);
          hooksRan();
        });
        return { apply: (s) => s };
      },
    });
    // Its second page waits for a commit of the running pipeline: one commit, at least, is not the last.
    const src = defineSource({
      type: 'two_pages',
      description: 'a page, then another once the hooks have run',
      configSchema: z.strictObject({}),
      create: () => ({
        bounded: true,
        async *read() {
          yield { events: events('a', 2), checkpoint: { next: 1 } };
          await firstCommit;
          yield { events: events('b', 2), checkpoint: { next: 2 } };
        },
      }),
    });
    const p = await createPipeline(
      {
        runtime: { commit_interval: '10ms' },
        sources: { g: { type: 'two_pages' } },
        // Declared downstream first: the runtime orders transforms by their inputs.
        transforms: { second: { type: 'hooked', inputs: ['first'], name: 'second' }, first: { type: 'hooked', inputs: ['g'], name: 'first' } },
        sinks: { out: { type: 'blackhole', inputs: ['second'] } },
      },
      { plugins: registry(src, hooked), logger, once: true, stateStore: new MemoryStateStore(), clock },
    );
    await p.start();
    // The commit interval passes on the pipeline's clock: the running pipeline's commits.
    for (let i = 0; i < 100 && calls.length === 0; i++) {
      await clock.advance(10);
      await new Promise((r) => setImmediate(r));
    }
    await p.done;
    const last = calls.findIndex((c) => c.endsWith(':final'));
    // Commits while running are not final, the ones as it stops are; each runs `second`'s hook first.
    expect(last, calls.join(' ')).toBeGreaterThan(0);
    const pairs = (from: string[]) => Array.from({ length: from.length / 2 }, (_, i) => `${from[2 * i]} ${from[2 * i + 1]}`);
    expect(new Set(pairs(calls.slice(0, last)))).toEqual(new Set(['second first']));
    expect(new Set(pairs(calls.slice(last)))).toEqual(new Set(['second:final first:final']));
  });

  it("an exactly-once sink's group waits for the other branch of its source batch and is written, whole, as soon as it comes (the clock standing still)", async () => {
    // Two branches of one source batch: `now` passes it at once, `later` when the test opens its gate.
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const later = defineOperator({ type: 'later', description: 'passes batches once opened', configSchema: z.strictObject({}), create: () => ({ apply: (s) => s.pipe(concatMap((b) => opened.then(() => b))) }) });
    const writes: number[] = [];
    const owning = defineSink({ type: 'owning_groups', description: 'owns checkpoints, records writes', configSchema: z.strictObject({}), create: () => ({ ownsCheckpoints: true, write: async (b) => void writes.push(b.events.length), close: async () => {} }) });
    const src = arraySource([events('g', 2)], 'src_groups');
    const run = async (clock: FakeClock) =>
      createPipeline(
        { sources: { s: { type: 'src_groups' } }, transforms: { now: { type: 'filter', inputs: ['s'], where: {} }, later: { type: 'later', inputs: ['s'] } }, sinks: { out: { type: 'owning_groups', inputs: ['now', 'later'] } } },
        { plugins: registry(src, later, owning), logger, once: true, stateStore: new MemoryStateStore(), clock },
      );
    // The other branch comes while the clock stands still: one write of both, at once.
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const p = await run(clock);
    await p.start();
    // The sink waits for the group's other branch (its bounded wait armed on the clock).
    await expect.poll(() => clock.pending).toBeGreaterThan(0);
    expect(writes).toEqual([]);
    open();
    await p.done;
    expect(writes).toEqual([4]);
    expect(clock.now()).toBe(Date.parse('2026-01-01T00:00:00Z'));
  }, 10_000);

  it("an exactly-once sink's group is written without the other branch once the clock passes ATOMIC_GROUP_WAIT_MS", async () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const later = defineOperator({ type: 'later2', description: 'passes batches once opened', configSchema: z.strictObject({}), create: () => ({ apply: (s) => s.pipe(concatMap((b) => opened.then(() => b))) }) });
    const writes: number[] = [];
    const owning = defineSink({ type: 'owning_groups2', description: 'owns checkpoints, records writes', configSchema: z.strictObject({}), create: () => ({ ownsCheckpoints: true, write: async (b) => void writes.push(b.events.length), close: async () => {} }) });
    const src = arraySource([events('g', 2)], 'src_groups2');
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const p = await createPipeline(
      { sources: { s: { type: 'src_groups2' } }, transforms: { now: { type: 'filter', inputs: ['s'], where: {} }, later: { type: 'later2', inputs: ['s'] } }, sinks: { out: { type: 'owning_groups2', inputs: ['now', 'later'] } } },
      { plugins: registry(src, later, owning), logger, once: true, stateStore: new MemoryStateStore(), clock },
    );
    await p.start();
    await expect.poll(() => clock.pending).toBeGreaterThan(0);
    await clock.advance(ATOMIC_GROUP_WAIT_MS - 1);
    expect(writes).toEqual([]);
    await clock.advance(1);
    await expect.poll(() => writes).toEqual([2]);
    open();
    await p.done;
    expect(writes).toEqual([2, 2]);
  }, 10_000);

  it('refuses an exactly-once sink behind an operator that holds checkpoints, naming the operator', async () => {
    const holding = defineOperator({ type: 'holding', description: 'holds events', configSchema: z.strictObject({}), create: () => ({ apply: (s) => s, holdsEvents: true }) });
    const owning = defineSink({ type: 'owning', description: 'owns checkpoints', configSchema: z.strictObject({}), create: () => ({ ownsCheckpoints: true, write: async () => {}, close: async () => {} }) });
    const p = await createPipeline(
      { sources: { g: { type: 'generate', count: 1 } }, transforms: { h: { type: 'holding', inputs: ['g'] } }, sinks: { out: { type: 'owning', inputs: ['h'] } } },
      { plugins: registry(holding, owning), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await expect(p.start()).rejects.toMatchObject({ code: 'CONFIG_EXACTLY_ONCE_HOLDING_OPERATOR', fields: { component: 'h' } });
  });

  it('stopped before it started, it ends at once without opening anything, and refuses a later start() (LIFECYCLE_ILLEGAL_TRANSITION)', async () => {
    let created = 0;
    const src = defineSource({ type: 'counted_src', description: 'counts its creation', configSchema: z.strictObject({}), create: () => (created++, { bounded: true, async *read() {} }) });
    const p = await createPipeline({ sources: { s: { type: 'counted_src' } }, sinks: { out: { type: 'blackhole', inputs: ['s'] } } }, { plugins: registry(src), logger, stateStore: new MemoryStateStore() });
    const result = await p.stop();
    expect(result.checkpoints).toEqual({});
    expect(p.health()).toMatchObject({ started: false, finished: true, ready: false });
    await expect(p.start()).rejects.toMatchObject({ code: 'LIFECYCLE_ILLEGAL_TRANSITION' });
    expect(created).toBe(0);
    await expect(p.done).resolves.toBe(result);
  });

  it('refuses --once for a source that never ends', async () => {
    const p = await createPipeline(
      { sources: { g: { type: 'generate' } }, sinks: { out: { type: 'blackhole', inputs: ['g'] } } },
      { plugins: registry(), logger, once: true, stateStore: new MemoryStateStore() },
    );
    await expect(p.start()).rejects.toMatchObject({ code: 'CONFIG_NOT_BOUNDED' });
  });

  it('stops gracefully: sources stop, in-flight batches drain, the checkpoint covers exactly what was delivered', async () => {
    const state = new MemoryStateStore();
    const sink = memorySink({ delayMs: 2 });
    const p = await createPipeline(
      { sources: { g: { type: 'generate', rate: 20000, batch_size: 100 } }, sinks: { out: { type: 'memory', inputs: ['g'] } } },
      { plugins: registry(sink.plugin), logger, stateStore: state },
    );
    await p.start();
    // Stopped while events flow (in-flight batches to drain): once some were delivered.
    await expect.poll(() => sink.record.events.length).toBeGreaterThan(0);
    const result = await p.stop();
    const cp = (await state.get('checkpoints')) as Record<string, { position: { next: number } }>;
    expect(cp.g!.position.next).toBe(sink.record.events.length);
    expect(result.stats.g!.inFlightBatches).toBe(0);
    expect(sink.record.closed).toBe(1);
    // stop() is idempotent.
    await expect(p.stop()).resolves.toBe(result);
  });
});

describe('dedupe with state', () => {
  it('does not re-emit events delivered before a restart', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const run = async (type: string, pages: CallEvent[][]) => {
        const src = arraySource(pages, type);
        const sink = memorySink();
        const p = await createPipeline(
          { state: { type: 'directory', path: join(dir, 'state') }, sources: { [type]: { type } }, transforms: { d: { type: 'dedupe', inputs: [type] } }, sinks: { out: { type: 'memory', inputs: ['d'] } } },
          { plugins: registry(src, sink.plugin), logger, once: true },
        );
        await p.start();
        await p.done;
        return sink.record.events.map((e) => e.id);
      };
      expect(await run('first', [events('k', 3), events('k', 2, 3)])).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      // A second source re-reads an overlapping range (as a polling source with overlap does).
      expect(await run('second', [events('k', 4, 3)])).toEqual(['k5', 'k6']);
    } finally {
      await cleanup();
    }
  });

  it('loses nothing when a sink fails: keys of undelivered events are not kept', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const src = arraySource([events('f', 2), events('f', 2, 2)]);
      let calls = 0;
      const failing = defineSink({
        type: 'failing',
        description: 'fails the second write for good',
        configSchema: z.strictObject({}),
        create: () => ({
          async write() {
            if (++calls === 2) throw new PipelineError('DISK_GONE', 'disk gone', { retriable: false });
          },
          close: async () => {},
        }),
      });
      const cfg = (sinkType: string) => ({
        state: { type: 'directory', path: join(dir, 'state') },
        sources: { src: { type: 'array' } },
        transforms: { d: { type: 'dedupe', inputs: ['src'] } },
        sinks: { out: { type: sinkType, inputs: ['d'] } },
      });
      const p1 = await createPipeline(cfg('failing'), { plugins: registry(src, failing), logger, once: true });
      await p1.start();
      await expect(p1.done).rejects.toMatchObject({ code: 'DISK_GONE' });
      const sink = memorySink();
      const p2 = await createPipeline(cfg('memory'), { plugins: registry(src, sink.plugin), logger, once: true });
      await p2.start();
      await p2.done;
      expect(sink.record.events.map((e) => e.id)).toEqual(['f2', 'f3']);
    } finally {
      await cleanup();
    }
  });
});
