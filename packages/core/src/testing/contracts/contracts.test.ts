import { describe, expect, it } from 'vitest';
import { map } from 'rxjs';
import { z } from 'zod';
import { defineOperator, defineSink, defineSource } from '../../plugin.js';
import { PipelineError } from '../../errors.js';
import { dedupeOperator } from '../../operators/dedupe/dedupe-operator.js';
import { filterOperator } from '../../operators/filter/filter-operator.js';
import { mapOperator } from '../../operators/map/map-operator.js';
import { routeOperator } from '../../operators/route/route-operator.js';
import { generateSource } from '../../sources/generate/generate-source.js';
import { blackholeSink } from '../../sinks/blackhole/blackhole-sink.js';
import { stdoutSink } from '../../sinks/stdout/stdout-sink.js';
import { stdinSource } from '../../sources/stdin/stdin-source.js';
import type { CallEvent } from '../../event.js';
import { CLOSE_CONTRACT, ContractViolation, ERROR_CODE_CONTRACT, IMMUTABLE_CONTRACT, operatorContract, operatorContractChecks, RECEIPT_CONTRACT, RX_CONTRACT, SCHEMA_CONTRACT, SINK_DURABILITY_CONTRACT, sinkContract, sinkContractChecks, sourceContract, SOURCE_RESUME_CONTRACT, sourceContractChecks } from './index.js';

// The core built-ins pass their suites.
sourceContract({ plugin: generateSource, config: () => ({ count: 500, batch_size: 100 }) });
operatorContract({ plugin: mapOperator, config: () => ({ set: { 'attributes.team': 'support', 'attributes.caller': { copy: 'from' } }, rename: { 'attributes.index': 'attributes.n' }, remove: ['raw'] }) });
operatorContract({ plugin: filterOperator, config: () => ({ where: { kind: 'session' } }) });
operatorContract({ plugin: routeOperator, config: () => ({ routes: { calls: { kind: 'call' }, long: { durationSec: { gte: 60 } } } }) });
operatorContract({ plugin: dedupeOperator, config: () => ({ key: ['id'] }) });
// Sinks that store nothing: schema and close contracts only.
sinkContract({ plugin: blackholeSink, config: () => ({}) });
sinkContract({ plugin: stdoutSink, config: () => ({ include_raw: false }) });
// Standard input cannot be read again from a checkpoint, and a test worker's fd 0 is not a
// readable stream: only its schema is checked here (the stdin benchmark and CLI tests read it).
sourceContract({ plugin: stdinSource, config: () => ({}), resumable: false, stopCheck: false });

/** Runs one named check and returns the violation it raised (undefined when it passed). */
async function violation(checks: { name: string; run(): Promise<void> }[], name: string): Promise<ContractViolation | undefined> {
  const check = checks.find((c) => c.name === name);
  if (!check) throw new Error(`no check named ${name}`);
  try {
    await check.run();
    return undefined;
  } catch (err) {
    if (err instanceof ContractViolation) return err;
    throw err;
  }
}

describe('the conformance suites fail deliberately broken plugins, naming the contract', () => {
  it('a sink that acknowledges before its data is durable, with a loose schema, an undocumented key and untyped errors', async () => {
    const stored: string[] = [];
    const hasty = defineSink({
      type: 'hasty',
      description: 'Acknowledges first, stores later.',
      configSchema: z.object({ path: z.string(), fail: z.boolean().default(false) }),
      create: (c) => ({
        async write(batch) {
          if (c.fail) throw new Error('no route to host');
          // Stores on the next timer tick, after the write has resolved: an early acknowledgement.
          setTimeout(() => stored.push(...batch.events.map((e) => e.id)), 5);
        },
        async close() {},
      }),
    });
    const checks = sinkContractChecks({ plugin: hasty, config: () => ({ path: 'x' }), readBack: async () => [...stored], failingConfig: () => ({ path: 'x', fail: true }) });
    expect((await violation(checks, SINK_DURABILITY_CONTRACT))?.contract).toBe(SINK_DURABILITY_CONTRACT);
    expect((await violation(checks, SCHEMA_CONTRACT))?.message).toMatch(/unknown key .* was accepted/);
    expect((await violation(checks, ERROR_CODE_CONTRACT))?.message).toMatch(/threw Error .* instead of a PlumlineError/);
  });

  it('a source that repeats events after a resume and leaves a timer running after close', async () => {
    const leaky = defineSource({
      type: 'leaky',
      description: 'Ignores its checkpoint and forgets a timer.',
      configSchema: z.strictObject({ pages: z.int().describe('Pages to yield.') }),
      create: (c) => {
        const timer = setInterval(() => {}, 1000);
        return {
          bounded: true,
          async *read() {
            for (let p = 0; p < c.pages; p++) yield { events: [{ id: `e${p}`, source: 'leaky', kind: 'session', time: '2026-01-01T00:00:00Z', attributes: {} }], checkpoint: p + 1 };
          },
          async close() {
            void timer;
          },
        };
      },
    });
    const checks = sourceContractChecks({ plugin: leaky, config: () => ({ pages: 4 }) });
    expect((await violation(checks, SOURCE_RESUME_CONTRACT))?.message).toMatch(/yielded 2 events from before it again/);
    expect((await violation(checks, 'it stops when the runtime stops pulling, and close leaves nothing running'))?.contract).toBe(CLOSE_CONTRACT);
    expect(await violation(checks, SCHEMA_CONTRACT)).toBeUndefined();
  });

  it('a push source that replays every record it ever accepted after a restart, or none of them', async () => {
    // Records arrive through `inbox` (as a webhook would post them); the source logs each one in
    // its state before accepting it and, when created again, replays the log after `replayFrom`.
    const inbox = new Set<(id: string) => Promise<void>>();
    const pushy = (type: string, replayFrom: (committed: number) => number) =>
      defineSource({
        type,
        description: 'A push source with a write-ahead log.',
        configSchema: z.strictObject({}),
        create: async (_c, ctx) => {
          const logged = Buffer.from(await ctx.state.readLog('wal')).toString().split('\n').filter(Boolean);
          const from = replayFrom((ctx.committedPosition() as number | undefined) ?? 0);
          const queue = logged.map((id, i) => ({ id, seq: i + 1 })).filter((r) => r.seq > from);
          let seq = logged.length;
          let wake: (() => void) | undefined;
          const accept = async (id: string) => {
            await ctx.state.append('wal', Buffer.from(`${id}\n`));
            queue.push({ id, seq: ++seq });
            wake?.();
          };
          inbox.add(accept);
          return {
            bounded: false,
            async *read() {
              while (!ctx.signal.aborted) {
                const r = queue.shift();
                if (r) yield { events: [{ id: r.id, source: type, kind: 'call', time: '2026-01-01T00:00:00Z', attributes: {} }], checkpoint: r.seq };
                else await new Promise<void>((resolve) => ((wake = resolve), ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
              }
            },
            async close() {
              inbox.delete(accept);
            },
          };
        },
      });
    let n = 0;
    const push = async (_config: Record<string, unknown>, count: number) => {
      for (let i = 0; i < count; i++) for (const accept of inbox) await accept(`p${++n}`);
    };
    const run = async (type: string, replayFrom: (committed: number) => number) => violation(sourceContractChecks({ plugin: pushy(type, replayFrom), config: () => ({}), push }), SOURCE_RESUME_CONTRACT);
    expect(await run('exact', (committed) => committed)).toBeUndefined();
    expect((await run('replays_all', () => 0))?.message).toMatch(/events from before it again/);
    expect((await run('replays_none', () => Number.POSITIVE_INFINITY))?.message).toMatch(/did not come again/);
  });

  it('an operator that drops receipts and changes its input', async () => {
    const careless = defineOperator({
      type: 'careless',
      description: 'Everything an operator must not do.',
      configSchema: z.strictObject({}),
      create: () => ({
        apply: (input) =>
          input.pipe(
            map((b) => {
              for (const e of b.events) (e as CallEvent).attributes.seen = true;
              // A new batch without the receipt: the checkpoint can never pass this batch.
              return { events: b.events, receipt: { positions: [], retain() {}, release() {}, fail() {}, onSettled() {}, stage() {} } };
            }),
          ),
      }),
    });
    const checks = operatorContractChecks({ plugin: careless, config: () => ({}) });
    expect((await violation(checks, RECEIPT_CONTRACT))?.message).toMatch(/input receipts were never released/);
    expect((await violation(checks, IMMUTABLE_CONTRACT))?.message).toMatch(/tried to change an input event/);
    expect(await violation(checks, RX_CONTRACT)).toBeUndefined();
  });

  it('PipelineError subclasses with codes pass the error contract', async () => {
    const failing = defineSink({
      type: 'failing',
      description: 'Always fails, properly.',
      configSchema: z.strictObject({ url: z.string().describe('Where to.') }),
      create: () => ({
        async write() {
          throw new PipelineError('FAILING_UNREACHABLE', 'cannot reach it', { retriable: true });
        },
        async close() {},
      }),
    });
    const checks = sinkContractChecks({ plugin: failing, config: () => ({ url: 'x' }), readBack: async () => [], failingConfig: () => ({ url: 'x' }) });
    expect(await violation(checks, ERROR_CODE_CONTRACT)).toBeUndefined();
  });
});
