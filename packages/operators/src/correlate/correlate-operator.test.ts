import { describe, expect, it } from 'vitest';
import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { ConfigErrors, corePlugins, defineSource, detachedReceipt, encodeFrames, operatorReceipt, PluginRegistry, StateError, z, type Batch, type CallEvent } from '@plumline/core';
import { resolvePipeline } from '@plumline/core/host';
import { FakeClock, MemoryStateStore, runOperator, testContext, testEvent } from '@plumline/core/testing';
import { correlateOperator, MAX_TICK_MS } from './correlate-operator.js';

const rules = [{ name: 'session_detail', anchor: { kind: 'session' }, partner: { kind: 'error' }, anchor_key: 'attributes.sessionId', partner_key: 'attributes.sessionId', as: 'errors', emit: 'window' }];
const session = (sid: string) => testEvent(`session:${sid}`, { kind: 'session', attributes: { sessionId: sid } });
const error = (sid: string, n: number) => testEvent(`error:${sid}:${n}`, { kind: 'error', attributes: { sessionId: sid } });
const batch = (events: CallEvent[]): Batch => ({ events, receipt: detachedReceipt() });
const ctx = (once: boolean) => testContext({ once });

describe('correlate (in a pipeline)', () => {
  it('under --once every window closes at the end of input: sessions carry their errors, lone errors come out flagged', async () => {
    const run = await runOperator(correlateOperator, { window: '10m', rules }, [[error('s1', 1), session('s1')], [session('s2'), error('s1', 2), error('zz', 1)]]);
    const byId = new Map(run.events.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual(['error:zz:1', 'session:s1', 'session:s2']);
    expect((byId.get('session:s1')!.attributes.errors as CallEvent[]).map((e) => e.id)).toEqual(['error:s1:1', 'error:s1:2']);
    expect(byId.get('session:s2')!.attributes.correlation).toEqual({ rule: 'session_detail', unmatched: true });
    expect(byId.get('error:zz:1')!.attributes.correlation).toEqual({ rule: 'session_detail', unmatched: true });
    expect(run.error).toBeUndefined();
  });

  it('held events survive a restart through the state store: the error read after the restart still joins its session', async () => {
    const store = new MemoryStateStore();
    const pages = [[session('s1'), testEvent('pass-1')], [error('s1', 1)]];
    // First run: only the first page, then a graceful stop with the session still waiting for its window.
    const first = await runOperator(correlateOperator, { window: '10m', rules }, pages.slice(0, 1), { stateStore: store, stopAfterMs: 400 });
    expect(first.error).toBeUndefined();
    expect(first.events.map((e) => e.id)).toEqual(['pass-1']);
    // Second run resumes after page 1 (the array source's checkpoint) and reads the error.
    const second = await runOperator(correlateOperator, { window: '10m', rules }, pages, { stateStore: store });
    expect(second.events.map((e) => e.id)).toEqual(['session:s1']);
    expect((second.events[0]!.attributes.errors as CallEvent[]).map((e) => e.id)).toEqual(['error:s1:1']);
  });

  it('a torn last line in the held-event log (a kill during an append) does not stop a restart', async () => {
    const store = new MemoryStateStore();
    const pages = [[session('s1'), testEvent('pass-1')], [error('s1', 1)]];
    await runOperator(correlateOperator, { window: '10m', rules }, pages.slice(0, 1), { stateStore: store, stopAfterMs: 400 });
    // The start of one more block, as an append cut short leaves it.
    await store.append('correlate/held.log', encodeFrames([Buffer.from('{"n":99,"id":"session:s9","e":{"id":"session:s9"}}\n')]).subarray(0, 30));
    const second = await runOperator(correlateOperator, { window: '10m', rules }, pages, { stateStore: store });
    expect(second.error).toBeUndefined();
    expect(second.events.map((e) => e.id)).toEqual(['session:s1']);
    expect((second.events[0]!.attributes.errors as CallEvent[]).map((e) => e.id)).toEqual(['error:s1:1']);
  });

  it('closes a window on its own timer while the input is idle: not a tick before the window ends, by the first tick after', async () => {
    // The operator's clock (ctx.clock) is a FakeClock: the window's minute passes at once.
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const windowMs = 60_000;
    const op = await correlateOperator.create(correlateOperator.configSchema.parse({ window: '1m', rules }), testContext({ once: false, clock }));
    const input = new Subject<Batch>();
    const out: Batch[] = [];
    const sub = input.pipe(op.apply).subscribe((b) => out.push(b));
    input.next(batch([session('t1')]));
    const emitted = () => out.flatMap((b) => b.events).map((e) => e.id);
    await clock.advance(windowMs - 1);
    expect(emitted()).toEqual([]);
    await clock.advance(Math.min(MAX_TICK_MS, windowMs / 4) + 1);
    expect(emitted()).toEqual(['session:t1']);
    // The timer's batch stands for the source batch the session came in.
    expect(out.at(-1)!.receipt.positions).toEqual(detachedReceipt().positions);
    sub.unsubscribe();
    await op.close?.();
    expect(clock.pending).toBe(0);
  });

  it('RxJS edge cases: empty input, an upstream error, a synchronous source, early unsubscribe', async () => {
    const op = await correlateOperator.create(correlateOperator.configSchema.parse({ window: '10m', rules }), ctx(true));
    expect((await firstValueFrom(from([] as Batch[]).pipe(op.apply, toArray()))).flatMap((b) => b.events)).toEqual([]);
    const sync = await firstValueFrom(from([batch([session('a')]), batch([error('a', 1)])]).pipe(op.apply, toArray()));
    expect(sync.flatMap((b) => b.events).map((e) => e.id)).toEqual(['session:a']);
    const failing = new Subject<Batch>();
    const errors: unknown[] = [];
    failing.pipe(op.apply).subscribe({ error: (e) => errors.push(e) });
    failing.error(new Error('upstream'));
    expect(errors).toHaveLength(1);
    const input = new Subject<Batch>();
    const seen: Batch[] = [];
    const sub = input.pipe(op.apply).subscribe((b) => seen.push(b));
    input.next(batch([testEvent('x')]));
    sub.unsubscribe();
    input.next(batch([testEvent('y')]));
    expect(seen.flatMap((b) => b.events).map((e) => e.id)).toEqual(['x']);
  });
});

describe('correlate: checkpoint holds instead of state for young held events', () => {
  const pos = (source: string, seq: number) => [{ source, seq }];
  const batchAt = (events: CallEvent[], positions: { source: string; seq: number }[]): Batch => ({ events, receipt: operatorReceipt(positions) });
  const heldPositions = (c: ReturnType<typeof testContext>) => [...c.holds].map((p) => p.map((x) => `${x.source}#${x.seq}`).join(',')).sort();
  const firstPartner = [{ ...rules[0]!, emit: 'first_partner' }];
  /** A correlate (window 10m) on a fresh context, fed through `input`; what it emits goes to `onOut`, by default into `out`. */
  const started = async (config: Record<string, unknown>, options: Parameters<typeof testContext>[0] = {}, onOut?: (b: Batch) => void) => {
    const c = testContext({ once: false, ...options });
    const op = await correlateOperator.create(correlateOperator.configSchema.parse({ window: '10m', ...config }), c);
    const out: Batch[] = [];
    const input = new Subject<Batch>();
    const sub = input.pipe(op.apply).subscribe(onOut ?? ((b) => out.push(b)));
    return { c, out, input, sub };
  };
  /** Runs the commit hooks, as the runtime does before a commit. */
  const commit = async (c: ReturnType<typeof testContext>, final = false) => {
    for (const hook of c.commitHooks) await hook({ final });
  };

  it('holds the batch of a held event until the batch carrying it out is delivered, and sends it under that batch', async () => {
    const { c, out, input, sub } = await started({ rules: firstPartner });
    input.next(batchAt([session('s1'), testEvent('pass')], pos('src', 1)));
    expect(heldPositions(c)).toEqual(['src#1']);
    input.next(batchAt([error('s1', 1)], pos('src', 2)));
    const joined = out.find((b) => b.events.some((e) => e.id === 'session:s1'))!;
    // The joined session leaves under the batch it came in: a sink keeps it exactly when that batch is committed.
    expect(joined.receipt.positions).toEqual(pos('src', 1));
    expect(heldPositions(c)).toEqual(['src#1', 'src#2']);
    joined.receipt.release();
    // The error's own batch (later, same source) cannot be committed before the session's: no need to wait.
    expect(heldPositions(c)).toEqual([]);
    sub.unsubscribe();
  });

  it('a part from another source stays held until the first part’s batch is committed', async () => {
    let committed = false;
    const { c, out, input, sub } = await started({ rules: firstPartner }, { isCommitted: () => committed });
    input.next(batchAt([session('s1')], pos('a', 1)));
    input.next(batchAt([error('s1', 1)], pos('b', 1)));
    for (const b of out) b.receipt.release();
    expect(heldPositions(c)).toEqual(['b#1']);
    await commit(c);
    expect(heldPositions(c)).toEqual(['b#1']);
    committed = true;
    await commit(c);
    expect(heldPositions(c)).toEqual([]);
    sub.unsubscribe();
  });

  it('logs an event that came in a batch standing for no source batch (nothing to hold) before that batch may settle', async () => {
    // Upstream (another correlate that logged the event) forgets it once the batch settles.
    const store = new MemoryStateStore();
    const { c, input, sub } = await started({ durable_after: '1h', rules }, { state: store }, (b) => b.receipt.release());
    const logged = () => Buffer.concat([...store.logs].filter(([k]) => k.endsWith('held.log')).flatMap(([, v]) => v)).toString();
    const b = batchAt([session('s1'), testEvent('pass')], []);
    let loggedAtSettle: string | undefined;
    b.receipt.onSettled(() => (loggedAtSettle = logged()));
    input.next(b);
    expect(heldPositions(c)).toEqual([]);
    expect(loggedAtSettle).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(loggedAtSettle).toContain('"id":"session:s1"');
    // Logged once: the next commit does not write it again.
    await commit(c);
    expect(logged().split('session:s1').length - 1).toBe(1);
    sub.unsubscribe();
  });

  it('fails the batch when the event it must log cannot be written', async () => {
    const failing = new MemoryStateStore();
    failing.append = () => Promise.reject(new StateError('STATE_WRITE_FAILED', 'disk full'));
    const { input, sub } = await started({ rules }, { state: failing }, (b) => b.receipt.release());
    const b = batchAt([session('s1')], []);
    const settled = new Promise<unknown>((r) => b.receipt.onSettled(r));
    input.next(b);
    expect(await settled).toMatchObject({ code: 'STATE_WRITE_FAILED' });
    sub.unsubscribe();
  });

  it('logs events held longer than durable_after (all of them at the final commit) and releases their holds', async () => {
    const { c, input, sub } = await started({ durable_after: '1h', rules });
    input.next(batchAt([session('s1')], pos('src', 1)));
    await commit(c);
    expect(heldPositions(c)).toEqual(['src#1']);
    expect(Buffer.from(await c.state.readLog('held.log')).toString()).toBe('');
    await commit(c, true);
    expect(heldPositions(c)).toEqual([]);
    expect(Buffer.from(await c.state.readLog('held.log')).toString()).toContain('"id":"session:s1"');
    sub.unsubscribe();
  });
});

describe('correlate\'s commit bookkeeping with thousands held', () => {
  it('across commits, logs exactly the events still held at the final commit: none released in between, none held lost', async () => {
    const c = testContext({ once: false });
    const op = await correlateOperator.create(correlateOperator.configSchema.parse({ window: '10m', durable_after: '1h', rules: [{ ...rules[0]!, emit: 'first_partner' }] }), c);
    const input = new Subject<Batch>();
    const sub = input.pipe(op.apply).subscribe((b) => b.receipt.release());
    const commit = async (final = false) => {
      for (const hook of c.commitHooks) await hook({ final });
    };
    // 12,000 sessions in 12 batches; every third joins its error (and leaves) before a commit.
    for (let b = 0; b < 12; b++) {
      const ids = Array.from({ length: 1000 }, (_, i) => `${b * 1000 + i}`);
      input.next({ events: ids.map(session), receipt: operatorReceipt([{ source: 'src', seq: b + 1 }]) });
      input.next({ events: ids.filter((id) => Number(id) % 3 === 0).map((id) => error(id, 1)), receipt: operatorReceipt([{ source: 'src', seq: 100 + b }]) });
      await commit();
    }
    expect(Buffer.from(await c.state.readLog('held.log')).toString()).toBe('');
    await commit(true);
    const logged = Buffer.from(await c.state.readLog('held.log')).toString();
    const sessions = new Set([...logged.matchAll(/"id":"session:(\d+)"/g)].map((m) => Number(m[1])));
    expect(sessions.size).toBe(8000);
    expect([...sessions].filter((n) => n % 3 === 0)).toEqual([]);
    sub.unsubscribe();
  });
});

describe('correlate behind a partitioned source (co-partitioning)', () => {
  /** Says it is partitioned, keyed as its config declares (as the kafka source does). */
  const parts = defineSource({ type: 'parts', description: 'partitioned (test)', configSchema: z.strictObject({ keyed_by: z.array(z.string()).optional() }), partitioning: (c) => ({ keyedBy: c.keyed_by }), create: () => ({ bounded: true, read: async function* () {} }) });
  const registry = new PluginRegistry([...corePlugins, parts, correlateOperator]);
  const rule = (name: string, key: string) => `{ name: ${name}, anchor: { kind: session }, partner: { kind: error }, anchor_key: ${key}, partner_key: ${key} }`;
  const codes = (source: string, correlate: string) =>
    resolvePipeline(`sources:\n  raw: ${source}\ntransforms:\n  joined: { type: correlate, inputs: [raw], ${correlate} }\nsinks:\n  out: { type: blackhole, inputs: [joined] }\n`, { registry, file: 'p.yaml' }).then(
      () => [],
      (err: ConfigErrors) => err.errors.map((e) => e.code),
    );

  it('needs the input keyed by the field it joins on, or per_partition', async () => {
    expect(await codes('{ type: parts, keyed_by: [attributes.sessionId] }', `rules: [${rule('errors', 'attributes.sessionId')}]`)).toEqual([]);
    expect(await codes('{ type: parts, keyed_by: [id] }', `rules: [${rule('errors', 'attributes.sessionId')}]`)).toEqual(['CONFIG_NOT_CO_PARTITIONED']);
    expect(await codes('{ type: parts }', `rules: [${rule('errors', 'attributes.sessionId')}]`)).toEqual(['CONFIG_NOT_CO_PARTITIONED']);
    // Two rules joining on different fields: no one keying brings both together.
    expect(await codes('{ type: parts, keyed_by: [attributes.sessionId] }', `rules: [${rule('errors', 'attributes.sessionId')}, ${rule('by_channel', 'attributes.channel')}]`)).toEqual(['CONFIG_NOT_CO_PARTITIONED']);
    expect(await codes('{ type: parts }', `per_partition: true, rules: [${rule('errors', 'attributes.sessionId')}]`)).toEqual([]);
    expect(await codes('{ type: generate, count: 1 }', `rules: [${rule('errors', 'attributes.sessionId')}]`)).toEqual([]);
  });
});
