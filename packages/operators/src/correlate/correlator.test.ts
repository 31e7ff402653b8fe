import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { testEvent, } from '@plumline/core/testing';
import type { CallEvent } from '@plumline/core';
import { correlateConfigSchema } from './correlate-config.js';
import { Correlator, noneReleased, type Released } from './correlator.js';

const WINDOW = 60_000;
const config = (extra: Record<string, unknown> = {}) =>
  correlateConfigSchema.parse({
    window: '1m',
    rules: [
      { name: 'session_detail', anchor: { kind: 'session', source: 'plum' }, partner: { kind: ['error', 'call'], source: 'plum' }, anchor_key: 'attributes.sessionId', partner_key: 'attributes.sessionId', as: 'details', emit: 'window' },
      { name: 'recording', anchor: { kind: 'call', source: 'iplum' }, partner: { kind: 'recording' }, anchor_key: ['from', 'to'], partner_key: 'attributes.phoneNumber', within_span: '30s' },
    ],
    ...extra,
  });
const session = (sid: string) => testEvent(`plum:session:${sid}`, { source: 'plum', kind: 'session', attributes: { sessionId: sid } });
const error = (sid: string, n: number) => testEvent(`plum:error:${sid}:${n}`, { source: 'plum', kind: 'error', attributes: { sessionId: sid }, raw: 'line' });
const icall = (id: string, number: string, time: string, endTime: string) => testEvent(id, { source: 'iplum', kind: 'call', from: number, to: 'admin@acme-voice.com', time, endTime });
const recording = (id: string, number: string, time: string) => testEvent(id, { source: 'iplum', kind: 'recording', time, attributes: { phoneNumber: number } });

function feed(c: Correlator, events: CallEvent[], nowMs = 0): CallEvent[] {
  const out: Released = noneReleased();
  for (const e of events) c.accept(e, [{ source: 's', seq: 1 }], nowMs, out);
  return out.events;
}
function expire(c: Correlator, nowMs: number): CallEvent[] {
  const out: Released = noneReleased();
  c.expire(nowMs, out);
  return out.events;
}

describe('Correlator', () => {
  it('a session carries its errors when its window closes, whichever came first; events of no rule pass at once', () => {
    const c = new Correlator(config());
    expect(feed(c, [error('s1', 1), session('s1'), testEvent('other'), error('s1', 2)]).map((e) => e.id)).toEqual(['other']);
    expect(c.pending).toBe(3);
    expect(expire(c, WINDOW - 1)).toEqual([]);
    const [s] = expire(c, WINDOW);
    expect(s!.id).toBe('plum:session:s1');
    expect((s!.attributes.details as CallEvent[]).map((e) => e.id)).toEqual(['plum:error:s1:1', 'plum:error:s1:2']);
    expect((s!.attributes.details as CallEvent[])[0]!.raw).toBeUndefined();
    expect(s!.attributes.correlation).toEqual({ rule: 'session_detail', partners: 2 });
    expect(c.pending).toBe(0);
  });

  it('joins a recording to the call on either of its numbers, within the call span, as soon as it arrives', () => {
    const c = new Correlator(config());
    expect(feed(c, [icall('c1', '+12125550100', '2026-01-01T10:00:00Z', '2026-01-01T10:05:00Z')])).toEqual([]);
    // Same number, long after the call: not its recording.
    expect(feed(c, [recording('r-late', '+12125550100', '2026-01-01T11:00:00Z')])).toEqual([]);
    const [joined] = feed(c, [recording('r1', '+12125550100', '2026-01-01T10:05:20Z')]);
    expect(joined!.id).toBe('c1');
    expect((joined!.attributes.recording as CallEvent[]).map((e) => e.id)).toEqual(['r1']);
    const [late] = expire(c, WINDOW);
    expect(late).toMatchObject({ id: 'r-late', attributes: { correlation: { rule: 'recording', unmatched: true } } });
  });

  it('flags an anchor whose partners never came, and keeps memory bounded by max_pending', () => {
    const c = new Correlator(config({ max_pending: 3 }));
    feed(c, [session('a'), session('b'), session('c')]);
    expect(c.takeOverflow().events).toEqual([]);
    feed(c, [session('d')]);
    const evicted = c.takeOverflow().events;
    expect(evicted.map((e) => [e.id, e.attributes.correlation])).toEqual([['plum:session:a', { rule: 'session_detail', unmatched: true }]]);
    expect(c.pending).toBe(3);
    expect(c.evicted).toBe(1);
  });

  it('whatever the arrival order, every event leaves exactly once, errors inside their session (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('s1', 's2', 's3'), fc.integer({ min: 0, max: 3 })), { maxLength: 12 }).chain((errs) =>
          fc.shuffledSubarray([...new Set(['s1', 's2', 's3'])].map(session).concat(errs.map(([s, n], i) => error(s, n * 100 + i))), { minLength: 0 }).map((evs) => evs),
        ),
        fc.integer({ min: 1, max: 5 }),
        (events, maxPending) => {
          const c = new Correlator(config({ max_pending: maxPending }));
          const out = [...feed(c, events), ...c.takeOverflow().events, ...expire(c, Number.POSITIVE_INFINITY)];
          const ids = out.flatMap((e) => [e.id, ...((e.attributes.details as CallEvent[] | undefined) ?? []).map((p) => p.id)]);
          if (ids.length !== events.length || new Set(ids).size !== events.length) return false;
          // A partner inside an anchor always has the anchor's session id.
          return out.every((e) => ((e.attributes.details as CallEvent[] | undefined) ?? []).every((p) => p.attributes.sessionId === e.attributes.sessionId));
        },
      ),
    );
  });
});
