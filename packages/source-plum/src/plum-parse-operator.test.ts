import { lastValueFrom, of, toArray, EMPTY, throwError, Subject, take, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { detachedReceipt, type Batch, type CallEvent } from '@plumline/core';
import { plumParseOperator } from './plum-parse-operator.js';

const SESSION = 'inbound 7185551234 3 [03/Nov/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734310 1509734339 00:00:29';
const ERROR = 'error 2125551234 6 [17/Nov/2016:14:40:46 -0400] 6177123000 100025;006;1479411625 Max Disconnect Count Exceeded';
const holder = (id: string, raw: unknown): CallEvent => ({ id, source: 'stdin', kind: 'record', time: '2026-01-01T00:00:00Z', attributes: {}, raw });

async function apply(config: Record<string, unknown>, input: Observable<Batch>): Promise<Batch[]> {
  const op = await plumParseOperator.create(plumParseOperator.configSchema.parse(config), {} as never);
  return lastValueFrom(input.pipe(op.apply, toArray()));
}

describe('plum_parse', () => {
  it('turns raw lines into session and error events; a bad line is dead-lettered with the reason', async () => {
    const [b] = await apply({}, of({ events: [holder('1', SESSION), holder('2', ERROR), holder('3', 'garbage'), holder('4', 42)], receipt: detachedReceipt() }));
    expect(b!.events.map((e) => e.kind)).toEqual(['session', 'error']);
    expect(b!.events[0]!.id).toBe('plum:session:200035;003;1509734279');
    expect(b!.dead!.map((d) => d.code)).toEqual(['PLUM_LINE_UNPARSEABLE', 'PROCESSING_FAILED']);
    expect(b!.dead![0]!.record).toEqual(holder('3', 'garbage'));
  });

  it('reads the line from another field and keeps non-lines when asked', async () => {
    const e = { ...holder('1', undefined), attributes: { line: SESSION } };
    const [b] = await apply({ field: 'attributes.line' }, of({ events: [e], receipt: detachedReceipt() }));
    expect(b!.events[0]!.kind).toBe('session');
    const [k] = await apply({ keep_unparsed: true }, of({ events: [holder('x', 1)], receipt: detachedReceipt() }));
    expect(k!.events[0]!.id).toBe('x');
  });

  it('RxJS edge cases: empty, error, early unsubscribe', async () => {
    expect(await apply({}, EMPTY)).toEqual([]);
    await expect(apply({}, throwError(() => new Error('upstream')))).rejects.toThrow('upstream');
    const subject = new Subject<Batch>();
    const op = await plumParseOperator.create(plumParseOperator.configSchema.parse({}), {} as never);
    const seen: Batch[] = [];
    subject.pipe(op.apply, take(1)).subscribe((b) => seen.push(b));
    subject.next({ events: [holder('1', SESSION)], receipt: detachedReceipt() });
    subject.next({ events: [holder('2', SESSION)], receipt: detachedReceipt() });
    expect(seen).toHaveLength(1);
  });
});
