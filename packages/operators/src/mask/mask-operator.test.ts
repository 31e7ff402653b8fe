import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstValueFrom, from, Subject, toArray } from 'rxjs';
import { detachedReceipt, type Batch, type CallEvent, type OperatorContext } from '@plumline/core';
import { runOperator, testEvent } from '@plumline/core/testing';
import { enrichOperator } from '../enrich/enrich-operator.js';
import { maskOperator } from './mask-operator.js';

const KEY = 'k'.repeat(24);
const ctx = { baseDir: '.', logger: { info() {}, warn() {} }, reportError() {} } as unknown as OperatorContext;
const batch = (events: CallEvent[]): Batch => ({ events, receipt: detachedReceipt() });
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.PLUMLINE_MASK_KEY;
  process.env.PLUMLINE_MASK_KEY = KEY;
});
afterAll(() => {
  if (saved === undefined) delete process.env.PLUMLINE_MASK_KEY;
  else process.env.PLUMLINE_MASK_KEY = saved;
});

/** Events shaped as the sources write them, with the same number in every place a source puts one. */
function shaped(national: string, formatted: string): CallEvent[] {
  return [
    testEvent('plum-session', { source: 'plum', kind: 'session', from: `1${national}`, to: '8005550100', attributes: { number: `1${national}`, peer: 'queue', sessionId: 's1' }, raw: `inbound 1${national} 3 ...` }),
    testEvent('plum-error', { source: 'plum', kind: 'error', attributes: { number: formatted, dnis: `1${national}`, message: `no answer from ${formatted}` }, raw: `err ${national}` }),
    testEvent('iplum-text', { source: 'iplum', kind: 'text', from: formatted, to: 'admin@acme-voice.com', attributes: { content: `call me back at ${formatted}`, recordId: 'r1' }, raw: { from: formatted } }),
    testEvent('iplum-rec', { source: 'iplum', kind: 'recording', from: `+1${national}`, attributes: { phoneNumber: `+1${national}` } }),
  ];
}

async function enrichThenMask(events: CallEvent[], maskConfig: Record<string, unknown>, context: OperatorContext = ctx): Promise<CallEvent[]> {
  const enrich = await enrichOperator.create(enrichOperator.configSchema.parse({}), context);
  const mask = await maskOperator.create(maskOperator.configSchema.parse(maskConfig), context);
  const out = await firstValueFrom(from([batch(events)]).pipe(enrich.apply, mask.apply, toArray()));
  return out.flatMap((b) => [...b.events]);
}

const nanp = fc.tuple(fc.constantFrom('212', '415', '646', '312'), fc.integer({ min: 200, max: 999 }), fc.integer({ min: 0, max: 9999 })).map(([a, x, l]) => ({ national: `${a}${x}${String(l).padStart(4, '0')}`, formatted: `(${a}) ${x}-${String(l).padStart(4, '0')}` }));

describe('mask', () => {
  it('no unmasked number reaches the output, in any field a source or enrich puts one (property)', async () => {
    await fc.assert(
      fc.asyncProperty(nanp, fc.constantFrom<Record<string, unknown>>({ numbers: 'hash' }, { numbers: { truncate: 4 } }, { numbers: 'drop' }), async ({ national, formatted }, cfg) => {
        const out = await enrichThenMask(shaped(national, formatted), cfg);
        const text = JSON.stringify(out);
        return out.length === 4 && !text.includes(national) && !text.includes(formatted) && !text.includes(national.slice(0, 6));
      }),
      { numRuns: 60 },
    );
  });

  it('hashes numbers by their digits with the key: the same number in two formats joins; another key gives another hash', async () => {
    const [a] = await enrichThenMask([testEvent('a', { from: '+1 (212) 555-0100' })], {});
    const [b] = await enrichThenMask([testEvent('b', { from: '12125550100' })], {});
    expect(a!.from).toMatch(/^hmac:[0-9a-f]{32}$/);
    expect(a!.from).toBe(b!.from);
    expect((a!.attributes.phone as { from: Record<string, unknown> }).from).toMatchObject({ country: 'US', areaCode: '212', e164: expect.stringMatching(/^hmac:/) });
    process.env.PLUMLINE_MASK_KEY = 'another-key-of-24-bytes!';
    try {
      const [c] = await enrichThenMask([testEvent('c', { from: '12125550100' })], {});
      expect(c!.from).not.toBe(a!.from);
    } finally {
      process.env.PLUMLINE_MASK_KEY = KEY;
    }
  });

  it('events the runtime says they own (ctx.ownsEvents) are enriched and masked in place, to the same bytes as by copies; nested events and shared results are never changed (property)', async () => {
    const owning = { ...ctx, ownsEvents: () => true } as OperatorContext;
    const configs: Record<string, unknown>[] = [{}, { numbers: { truncate: 4 } }, { numbers: 'drop', content: 'hash' }, { fields: { 'attributes.phone': 'drop', to: 'keep' } }, { fields: { 'attributes.deep.x': 'hash' } }];
    await fc.assert(
      fc.asyncProperty(nanp, fc.constantFrom(...configs), async ({ national, formatted }, cfg) => {
        const make = () => {
          const nested = shaped(national, formatted).slice(0, 2);
          return [...shaped(national, formatted), testEvent('s', { from: `1${national}`, attributes: { details: nested, deep: { x: national } } }), testEvent('bare', { attributes: undefined as unknown as Record<string, unknown> })];
        };
        const copied = await enrichThenMask(make(), cfg);
        const input = make();
        const details = input[4]!.attributes.details as CallEvent[];
        const nested = details.map((e) => JSON.stringify(e));
        const owned = await enrichThenMask(input, cfg, owning);
        // The same bytes, key order included (sinks write JSON.stringify of each event).
        expect(owned.map((e) => JSON.stringify(e))).toEqual(copied.map((e) => JSON.stringify(e)));
        // In place: the events that came in are the events that leave (one copy fewer per operator)…
        // (a rule deeper than attributes.x makes mask copy: its generic step reads the event as it came).
        const deepRule = Object.keys((cfg.fields ?? {}) as object).some((f) => f.split('.').length > 2);
        expect(owned.slice(0, 4).every((e, i) => e === input[i])).toBe(!deepRule);
        // …but what is nested in them is shared with whoever else holds it: never changed.
        expect(details.map((e) => JSON.stringify(e))).toEqual(nested);
      }),
      { numRuns: 40 },
    );
  });

  it('events it does not own are left as they came (fan-out: another branch reads them)', async () => {
    const input = shaped('2125550100', '(212) 555-0100');
    const before = JSON.stringify(input);
    await enrichThenMask(input, {});
    expect(JSON.stringify(input)).toBe(before);
  });

  it('masks events nested by correlate (a session\'s errors) like top-level ones', async () => {
    const [e] = await enrichThenMask([testEvent('s', { from: '12125550100', attributes: { details: shaped('2125550100', '(212) 555-0100').slice(0, 2) } })], {});
    const text = JSON.stringify(e);
    expect(text).not.toContain('2125550100');
    expect(text).not.toContain('555-0100');
    expect(((e!.attributes.details as CallEvent[])[1]!.attributes as Record<string, unknown>).message).toBeUndefined();
  });

  it('an explicit rule for the phone target wins over masking it; arrays holding no event pass as they are; nested events in any attribute are masked', async () => {
    const tags = ['vip', 'callback'];
    const events = [testEvent('s', { from: '12125550100', attributes: { tags, later: [1, shaped('2125550100', '(212) 555-0100')[1]] } })];
    const [dropped] = await enrichThenMask(events, { fields: { 'attributes.phone': 'drop' } });
    expect(dropped!.attributes.phone).toBeUndefined();
    expect(dropped!.attributes.tags).toBe(tags);
    const later = dropped!.attributes.later as unknown[];
    expect(later[0]).toBe(1);
    expect(JSON.stringify(later)).not.toContain('555-0100');
    const [masked] = await enrichThenMask(events, {});
    expect(JSON.stringify(masked!.attributes.phone)).toMatch(/"e164":"hmac:[0-9a-f]{32}"/);
  });

  it('truncates to the last digits, drops content and raw by default, and applies per-field rules', async () => {
    const run = await runOperator(maskOperator, { numbers: { truncate: 4 }, fields: { 'attributes.recordId': 'hash', to: 'keep' } }, [shaped('2125550123', '(212) 555-0123').slice(2, 3)]);
    const [e] = run.events;
    expect(e!.from).toBe('***0123');
    expect(e!.to).toBe('admin@acme-voice.com');
    expect(e!.attributes.content).toBeUndefined();
    expect(e!.raw).toBeUndefined();
    expect(e!.attributes.recordId).toMatch(/^hmac:/);
  });

  it('refuses to start without a key when something is hashed, and refuses raw: keep while numbers are masked', async () => {
    delete process.env.PLUMLINE_MASK_KEY;
    try {
      expect(() => maskOperator.create(maskOperator.configSchema.parse({}), ctx)).toThrow(expect.objectContaining({ code: 'CONFIG_MASK_KEY_MISSING' }));
      // Nothing hashed: no key needed.
      expect(() => maskOperator.create(maskOperator.configSchema.parse({ numbers: 'drop', content: 'drop' }), ctx)).not.toThrow();
    } finally {
      process.env.PLUMLINE_MASK_KEY = KEY;
    }
    const r = maskOperator.configSchema.safeParse({ raw: 'keep' });
    expect(r.success ? [] : r.error.issues.map((i) => i.path.join('.'))).toEqual(['raw']);
  });

  it('the key never appears in an error message', async () => {
    process.env.PLUMLINE_MASK_KEY = 'short';
    try {
      let msg = '';
      try {
        await maskOperator.create(maskOperator.configSchema.parse({}), ctx);
      } catch (err) {
        msg = (err as Error).message;
      }
      expect(msg).toContain('PLUMLINE_MASK_KEY');
      expect(msg).not.toContain('short');
    } finally {
      process.env.PLUMLINE_MASK_KEY = KEY;
    }
  });

  it('RxJS edge cases: empty, error, synchronous source, early unsubscribe', async () => {
    const op = await maskOperator.create(maskOperator.configSchema.parse({}), ctx);
    expect(await firstValueFrom(from([] as Batch[]).pipe(op.apply, toArray()))).toEqual([]);
    expect((await firstValueFrom(from([batch([testEvent('a')]), batch([testEvent('b')])]).pipe(op.apply, toArray()))).length).toBe(2);
    const s = new Subject<Batch>();
    const seen: unknown[] = [];
    const out: Batch[] = [];
    const sub = s.pipe(op.apply).subscribe({ next: (b) => out.push(b), error: (e) => seen.push(e) });
    s.next(batch([testEvent('x', { from: '12125550100' })]));
    sub.unsubscribe();
    s.next(batch([testEvent('y')]));
    expect(out).toHaveLength(1);
    const s2 = new Subject<Batch>();
    s2.pipe(op.apply).subscribe({ error: (e) => seen.push(e) });
    s2.error(new Error('upstream'));
    expect(seen).toHaveLength(1);
  });
});
