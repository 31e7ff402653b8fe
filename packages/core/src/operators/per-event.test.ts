import { EMPTY, Subject, of, throwError, take, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../batch.js';
import { detachedReceipt } from '../receipt.js';
import { testEvent } from '../testing/index.js';
import { filterEvents, mapEvents } from './per-event.js';

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
