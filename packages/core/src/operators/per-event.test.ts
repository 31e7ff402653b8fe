import { EMPTY, Subject, of, throwError, take, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../batch.js';
import { detachedReceipt } from '../receipt.js';
import { testEvent } from '../testing/index.js';
import { PipelineError } from '../errors.js';
import { filterEvents, flatMapEvents, mapBatches, mapEvents, toOutputs } from './per-event.js';

const batch = (...ids: string[]): Batch => ({ events: ids.map((id) => testEvent(id)), receipt: detachedReceipt() });

describe('mapEvents / filterEvents (RxJS edge cases)', () => {
  it('empty source: completes without emitting', async () => {
    expect(await lastValueFrom(EMPTY.pipe(mapEvents((e) => e), toArray()))).toEqual([]);
  });

  it('an empty batch passes as an empty batch with its receipt', async () => {
    const b = batch();
    const [out] = await lastValueFrom(of(b).pipe(filterEvents(() => true), toArray()));
    expect(out!.events).toEqual([]);
    expect(out!.receipt).toBe(b.receipt);
  });

  it('upstream error propagates', async () => {
    await expect(lastValueFrom(throwError(() => new Error('boom')).pipe(mapEvents((e) => e)))).rejects.toThrow('boom');
  });

  it('early unsubscribe stops processing', () => {
    const subject = new Subject<Batch>();
    let calls = 0;
    const sub = subject.pipe(mapEvents((e) => (calls++, e)), take(1)).subscribe();
    subject.next(batch('a'));
    subject.next(batch('b'));
    expect(calls).toBe(1);
    expect(sub.closed).toBe(true);
  });

  it('synchronous source: every batch processed in order', async () => {
    const out = await lastValueFrom(of(batch('a', 'b'), batch('c')).pipe(mapEvents((e) => ({ ...e, kind: 'x' })), toArray()));
    expect(out.map((b) => b.events.map((e) => `${e.id}:${e.kind}`))).toEqual([['a:x', 'b:x'], ['c:x']]);
  });

  it('a throwing function dead-letters that event only, with the reason', async () => {
    const [out] = await lastValueFrom(
      of(batch('a', 'bad', 'c')).pipe(
        mapEvents((e) => {
          if (e.id === 'bad') throw new Error('cannot');
          return e;
        }),
        toArray(),
      ),
    );
    expect(out!.events.map((e) => e.id)).toEqual(['a', 'c']);
    expect(out!.dead).toEqual([{ code: 'PROCESSING_FAILED', reason: 'cannot', record: testEvent('bad') }]);
  });

  it('returning null drops the event; filter keeps the same batch object when nothing is dropped', async () => {
    const b = batch('a', 'b');
    const [dropped] = await lastValueFrom(of(b).pipe(mapEvents((e) => (e.id === 'a' ? null : e)), toArray()));
    expect(dropped!.events.map((e) => e.id)).toEqual(['b']);
    const [same] = await lastValueFrom(of(b).pipe(filterEvents(() => true), toArray()));
    expect(same).toBe(b);
  });
});

describe('flatMapEvents / mapBatches', () => {
  it('flatMapEvents: each event becomes none, one or many, in order; a throw dead-letters that event; the receipt passes through', async () => {
    const b = batch('a', 'b', 'bad', 'c');
    const [out] = await lastValueFrom(
      of(b).pipe(
        flatMapEvents((e) => {
          if (e.id === 'bad') throw new PipelineError('SPLIT_FAILED', 'cannot split');
          return e.id === 'b' ? [] : [{ ...e, id: `${e.id}.1` }, { ...e, id: `${e.id}.2` }];
        }),
        toArray(),
      ),
    );
    expect(out!.events.map((e) => e.id)).toEqual(['a.1', 'a.2', 'c.1', 'c.2']);
    expect(out!.dead).toEqual([{ code: 'SPLIT_FAILED', reason: 'cannot split', record: testEvent('bad') }]);
    expect(out!.receipt).toBe(b.receipt);
  });

  it('mapBatches: an async function per batch, batches kept in order however long each takes, receipts unchanged', async () => {
    const input = [batch('a', 'b'), batch('c'), batch('d')];
    const delays = [30, 0, 10];
    let n = 0;
    const out = await lastValueFrom(
      of(...input).pipe(
        mapBatches(async (events) => {
          await new Promise((r) => setTimeout(r, delays[n++]));
          return events.map((e) => ({ ...e, kind: 'looked-up' }));
        }),
        toArray(),
      ),
    );
    expect(out.map((b) => b.events.map((e) => `${e.id}:${e.kind}`))).toEqual([['a:looked-up', 'b:looked-up'], ['c:looked-up'], ['d:looked-up']]);
    expect(out.map((b) => b.receipt)).toEqual(input.map((b) => b.receipt));
  });

  it('mapBatches: a retriable error is retried and the batch goes on; a permanent one dead-letters every event of the batch with its code, and the next batch goes on', async () => {
    let attempts = 0;
    const out = await lastValueFrom(
      of(batch('a'), batch('p1', 'p2'), batch('z')).pipe(
        mapBatches(async (events) => {
          if (events[0]!.id === 'a' && ++attempts < 3) throw new PipelineError('LOOKUP_UNAVAILABLE', 'lookup down', { retriable: true });
          if (events[0]!.id === 'p1') throw new PipelineError('LOOKUP_REFUSED', 'no such table');
          return events;
        }),
        toArray(),
      ),
    );
    expect(attempts).toBe(3);
    expect(out.map((b) => b.events.map((e) => e.id))).toEqual([['a'], [], ['z']]);
    expect(out[1]!.dead?.map((d) => [d.code, (d.record as { id: string }).id])).toEqual([
      ['LOOKUP_REFUSED', 'p1'],
      ['LOOKUP_REFUSED', 'p2'],
    ]);
  });
});

describe('toOutputs (a batch to several named outputs, receipts by construction)', () => {
  it('emits one batch per output (empty ones too), and the receipt settles only once every output\'s batch was released', async () => {
    const b = batch('a', 'b', 'c');
    let settled = 0;
    b.receipt.onSettled(() => settled++);
    const pick = (e: { id: string }) => (e.id === 'a' ? [0, 1] : e.id === 'b' ? [1] : []);
    const out = await lastValueFrom(of(b).pipe(toOutputs(['x', 'y', 'z'], pick), toArray()));
    expect(out.map((o) => [o.output, o.events.map((e) => e.id)])).toEqual([
      ['x', ['a']],
      ['y', ['a', 'b']],
      ['z', []],
    ]);
    for (const o of out.slice(0, -1)) o.receipt.release();
    expect(settled).toBe(0);
    out[out.length - 1]!.receipt.release();
    expect(settled).toBe(1);
  });

  it('a throwing pick dead-letters that event once (on the first output\'s batch), and the rest go on', async () => {
    const out = await lastValueFrom(
      of(batch('a', 'bad')).pipe(
        toOutputs(['x', 'y'], (e) => {
          if (e.id === 'bad') throw new PipelineError('TEST_PICK', 'cannot place');
          return [0, 1];
        }),
        toArray(),
      ),
    );
    expect(out.map((o) => [o.output, o.events.map((e) => e.id), (o.dead ?? []).map((d) => d.code)])).toEqual([
      ['x', ['a'], ['TEST_PICK']],
      ['y', ['a'], []],
    ]);
  });
});
