import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../batch.js';
import { detachedReceipt } from '../receipt.js';
import { testEvent } from '../testing/index.js';
import { mapOperator } from './map/map-operator.js';
import { filterOperator } from './filter/filter-operator.js';
import { routeOperator } from './route/route-operator.js';
import type { CallEvent } from '../event.js';

const ctx = {} as never;
async function run(op: { apply: (s: never) => unknown }, events: CallEvent[]): Promise<Batch[]> {
  const b: Batch = { events, receipt: detachedReceipt() };
  return lastValueFrom((of(b).pipe(op.apply as never) as never as import('rxjs').Observable<Batch>).pipe(toArray()));
}

describe('map', () => {
  it('sets literals, copies and templates; renames and removes; never changes the input event', async () => {
    const op = await mapOperator.create(
      mapOperator.configSchema.parse({
        set: { 'attributes.tenant': 'acme', 'attributes.caller': { copy: 'from' }, 'attributes.key': { template: '{{source}}/{{id}}' }, region: 'us', 'attributes.deep.er': 1 },
        rename: { 'attributes.channel': 'attributes.line' },
        remove: ['raw'],
      }),
      ctx,
    );
    const input = testEvent('a', { from: '+1617', raw: 'x', attributes: { channel: 3 } });
    const frozen = JSON.stringify(input);
    const [out] = await run(op, [input]);
    expect(out!.events[0]).toEqual({
      id: 'a',
      source: 'test',
      kind: 'session',
      time: input.time,
      from: '+1617',
      region: 'us',
      attributes: { tenant: 'acme', caller: '+1617', key: 'test/a', line: 3, deep: { er: 1 } },
    });
    expect(JSON.stringify(input)).toBe(frozen);
  });

  it('refuses to remove required fields', () => {
    expect(mapOperator.configSchema.safeParse({ remove: ['id'] }).success).toBe(false);
  });

  it('refuses a template reading a field no event can have, located at its key', () => {
    const r = mapOperator.configSchema.safeParse({ set: { 'attributes.key': { template: '{{sorce}}:{{id}}' } } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['set.attributes.key.template', expect.stringContaining('"sorce" is not a field of an event (did you mean "source"?)')]]);
  });
});

describe('filter', () => {
  it('evaluates every operator', async () => {
    const where = {
      kind: 'session',
      durationSec: { gte: 10, lt: 100 },
      'attributes.channel': { in: [1, 2] },
      to: { starts_with: '+1800' },
      from: { matches: '^\\+1(617|212)' },
      any: [{ direction: 'inbound' }, { 'attributes.vip': { exists: true } }],
      not: { 'attributes.test': true },
    };
    const op = await filterOperator.create(filterOperator.configSchema.parse({ where }), ctx);
    const base = { kind: 'session', durationSec: 50, to: '+18005550100', from: '+16175550000', direction: 'inbound' as const };
    const cases: [string, Partial<CallEvent>, boolean][] = [
      ['ok', { ...base, attributes: { channel: 1 } }, true],
      ['short', { ...base, durationSec: 5, attributes: { channel: 1 } }, false],
      ['chan', { ...base, attributes: { channel: 9 } }, false],
      ['outbound-vip', { ...base, direction: 'outbound', attributes: { channel: 2, vip: 'y' } }, true],
      ['outbound', { ...base, direction: 'outbound', attributes: { channel: 2 } }, false],
      ['test', { ...base, attributes: { channel: 1, test: true } }, false],
      ['from', { ...base, from: '+13125550000', attributes: { channel: 1 } }, false],
      ['missing', { kind: 'session', attributes: { channel: 1 } }, false],
    ];
    const [out] = await run(op, cases.map(([id, e]) => testEvent(id, e)));
    expect(out!.events.map((e) => e.id)).toEqual(cases.filter(([, , keep]) => keep).map(([id]) => id));
  });
});

describe('route', () => {
  it('emits one batch per output with the same receipt, events in every matching route', async () => {
    const op = await routeOperator.create(routeOperator.configSchema.parse({ routes: { calls: { kind: 'call' }, long: { durationSec: { gte: 60 } } } }), ctx);
    const out = await run(op, [testEvent('c', { kind: 'call', durationSec: 90 }), testEvent('s', { durationSec: 10 })]);
    expect(out.map((b) => [b.output, b.events.map((e) => e.id)])).toEqual([
      ['calls', ['c']],
      ['long', ['c']],
      ['_unmatched', ['s']],
    ]);
    expect(new Set(out.map((b) => b.receipt)).size).toBe(1);
  });
});
