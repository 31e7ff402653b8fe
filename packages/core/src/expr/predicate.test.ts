import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../event.js';
import { testEvent } from '../testing/index.js';
import { compileCondition, conditionProblems, type Condition } from './predicate.js';

/** An event whose `attributes.v` (and `durationSec`, when a number) is `v`. */
const withV = (v: unknown): CallEvent => testEvent('e', { attributes: { v }, ...(typeof v === 'number' ? { durationSec: v } : {}) });
const holds = (cond: Condition, e: CallEvent): boolean => compileCondition(cond)(e);
/** Whether `{ attributes.v: { [op]: arg } }` holds for the event carrying `v`. */
const op = (name: string, arg: unknown, v: unknown): boolean => holds({ 'attributes.v': { [name]: arg } }, withV(v));

const ORDER = ['gt', 'gte', 'lt', 'lte'] as const;
const TEXT = ['matches', 'contains', 'starts_with', 'ends_with'] as const;
/** What JavaScript's operators say, for two values of one type: the reference the comparisons must agree with. */
const REFERENCE: Record<(typeof ORDER)[number], (a: number | string, b: number | string) => boolean> = {
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
};
/** JSON values a vendor record can carry, of every type. */
const jsonValue = fc.oneof(fc.constant(null), fc.boolean(), fc.double({ noNaN: true }), fc.integer(), fc.string(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }));

describe('conditions (where:, routes): every operator holds as its name says', () => {
  it('eq, ne, in, not_in: equality of a value, and its negation', () => {
    expect([op('eq', 'a', 'a'), op('eq', 'a', 'b'), op('eq', 1, 1), op('eq', 1, '1'), op('eq', true, true), op('eq', false, 0)]).toEqual([true, false, true, false, true, false]);
    expect([op('ne', 'a', 'a'), op('ne', 'a', 'b'), op('ne', 1, '1')]).toEqual([false, true, true]);
    expect([op('in', ['a', 2], 'a'), op('in', ['a', 2], 2), op('in', ['a', 2], '2'), op('in', ['a'], 'b')]).toEqual([true, true, false, false]);
    expect([op('not_in', ['a', 2], 'a'), op('not_in', ['a', 2], '2'), op('not_in', ['a'], 'b')]).toEqual([false, true, true]);
    // A plain value is equality.
    expect([holds({ kind: 'session' }, testEvent('e')), holds({ kind: 'error' }, testEvent('e'))]).toEqual([true, false]);
  });

  it('gt, gte, lt, lte: the order of numbers, and of strings (ISO times compare as text)', () => {
    expect(ORDER.map((o) => op(o, 10, 10))).toEqual([false, true, false, true]);
    expect(ORDER.map((o) => op(o, 10, 11))).toEqual([true, true, false, false]);
    expect(ORDER.map((o) => op(o, 10, 9.5))).toEqual([false, false, true, true]);
    expect(ORDER.map((o) => op(o, -1, -2))).toEqual([false, false, true, true]);
    const t = '2026-01-01T00:00:00.000Z';
    expect(ORDER.map((o) => holds({ time: { [o]: '2025-12-31T23:59:59.999Z' } }, testEvent('e', { time: t })))).toEqual([true, true, false, false]);
    expect(ORDER.map((o) => holds({ time: { [o]: t } }, testEvent('e', { time: t })))).toEqual([false, true, false, true]);
  });

  it('gt, gte, lt, lte agree with the order of any two numbers and any two strings', () => {
    // Equal pairs and near ones as often as far ones: the boundary is where gt and gte differ.
    const near = fc.integer({ min: -2, max: 2 });
    const sameType = fc.oneof(fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true })), fc.tuple(near, near), fc.tuple(fc.string({ maxLength: 2 }), fc.string({ maxLength: 2 })), fc.oneof(fc.double({ noNaN: true }), fc.string()).map((v) => [v, v] as const));
    fc.assert(
      fc.property(sameType, fc.constantFrom(...ORDER), ([v, arg], o) => {
        expect(op(o, arg, v)).toBe(REFERENCE[o](v, arg));
      }),
    );
  });

  it('eq and ne, in and not_in are each other\'s negation for every value, present or not', () => {
    fc.assert(
      fc.property(fc.option(jsonValue, { nil: undefined }), fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string()), fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }), (v, arg, list) => {
        expect(op('ne', arg, v)).toBe(!op('eq', arg, v));
        expect(op('not_in', list, v)).toBe(!op('in', list, v));
        expect(op('in', list, v)).toBe(list.some((x) => x === v));
      }),
    );
  });

  it('exists: present and not null', () => {
    expect([op('exists', true, 0), op('exists', true, ''), op('exists', true, false), op('exists', true, null), op('exists', true, undefined)]).toEqual([true, true, true, false, false]);
    expect([op('exists', false, 0), op('exists', false, null), op('exists', false, undefined)]).toEqual([false, true, true]);
  });

  it('matches, contains, starts_with, ends_with: text (and contains: an element of a list)', () => {
    expect([op('matches', '^\\+1(617|212)', '+16175550100'), op('matches', '^\\+1(617|212)', '+13125550100'), op('matches', 'x', 'ax')]).toEqual([true, false, true]);
    expect([op('contains', 'bc', 'abcd'), op('contains', 'x', 'abcd'), op('contains', 'vip', ['a', 'vip']), op('contains', 'vip', ['a', 'vipx'])]).toEqual([true, false, true, false]);
    expect([op('starts_with', '+1800', '+18005550100'), op('starts_with', '+1800', '+44800'), op('starts_with', 'b', 'ab')]).toEqual([true, false, false]);
    expect([op('ends_with', '.wav', 'call.wav'), op('ends_with', '.wav', 'call.mp3'), op('ends_with', 'a', 'ab')]).toEqual([true, false, false]);
  });

  it('several operators on one field must all hold', () => {
    const between = { durationSec: { gte: 10, lt: 3600 } };
    expect([9, 10, 3599, 3600].map((d) => holds(between, withV(d)))).toEqual([false, true, true, false]);
  });

  it('reads nested paths, one, two and three levels deep', () => {
    const e = testEvent('e', { attributes: { a: { b: 'deep' }, c: 1 } });
    expect([holds({ kind: 'session' }, e), holds({ 'attributes.c': 1 }, e), holds({ 'attributes.a.b': 'deep' }, e), holds({ 'attributes.a.b': { exists: false } }, testEvent('e'))]).toEqual([true, true, true, true]);
  });
});

describe('conditions on a missing field', () => {
  // Absent, set to undefined (how operators remove a field), or under a path through a value
  // that is not an object: all read as missing, which is what `exists: false` says.
  const missing: [string, CallEvent, string][] = [
    ['absent', testEvent('e'), 'attributes.v'],
    ['removed (undefined)', testEvent('e', { attributes: { v: undefined } }), 'attributes.v'],
    ['under a non-object', testEvent('e', { attributes: { v: 'text' } }), 'attributes.v.w'],
    ['three levels down, absent', testEvent('e'), 'attributes.v.w'],
    ['a top-level field', testEvent('e'), 'durationSec'],
  ];
  // What each operator says of a missing field: it is not any value, so only the negations hold.
  const expected: [string, unknown, boolean][] = [
    ['eq', 'x', false], ['ne', 'x', true], ['in', ['x', 1], false], ['not_in', ['x', 1], true],
    ['gt', 0, false], ['gte', 0, false], ['lt', 0, false], ['lte', 0, false], ['gte', '', false], ['lte', '', false],
    ['exists', true, false], ['exists', false, true],
    ['matches', '.*', false], ['contains', '', false], ['starts_with', '', false], ['ends_with', '', false],
  ];

  it.each(missing)('%s: only ne, not_in and exists: false hold', (_, e, path) => {
    for (const [o, arg, want] of expected) expect(holds({ [path]: { [o]: arg } }, e), `${o}: ${JSON.stringify(arg)}`).toBe(want);
  });

  it('is equal to null, as exists: false says (eq: null, a plain null, in: [null])', () => {
    for (const [, e, path] of missing) {
      expect([holds({ [path]: null }, e), holds({ [path]: { eq: null } }, e), holds({ [path]: { ne: null } }, e), holds({ [path]: { in: [null, 'x'] } }, e), holds({ [path]: { not_in: [null] } }, e)]).toEqual([true, true, false, true, false]);
    }
    // A present value is not null.
    expect([op('eq', null, 0), op('ne', null, ''), op('in', [null], false)]).toEqual([false, true, false]);
    expect(op('eq', null, null)).toBe(true);
  });

  it('a field named like a member of every object (constructor, toString, __proto__) is missing unless the event has it', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      for (const path of [name, `attributes.${name}`, `attributes.a.${name}`]) {
        const e = testEvent('e', { attributes: { a: {} } });
        expect(holds({ [path]: { exists: true } }, e), path).toBe(false);
        expect(holds({ [path]: { exists: false } }, e), path).toBe(true);
        expect(holds({ [path]: { ne: 'x' } }, e), path).toBe(true);
      }
      // Present as data (a vendor's JSON can carry any key): read like any other field.
      const own = testEvent('e', { attributes: JSON.parse(`{"${name}": "here", "a": {"${name}": 1}}`) as Record<string, unknown> });
      expect([holds({ [`attributes.${name}`]: 'here' }, own), holds({ [`attributes.a.${name}`]: { gte: 1 } }, own)], name).toEqual([true, true]);
    }
  });
});

describe('conditions on values of types that do not compare', () => {
  it('gt, gte, lt, lte never hold between a number and anything else (no coercion: "10" is not above 9)', () => {
    for (const o of ORDER) {
      expect([op(o, 9, '10'), op(o, 11, '10'), op(o, 0, true), op(o, 1, false), op(o, 3, [5]), op(o, 3, { a: 5 }), op(o, 0, null)], o).toEqual([false, false, false, false, false, false, false]);
      expect([op(o, '5', 10), op(o, '', 0), op(o, 'a', ['b']), op(o, 'true', true)], o).toEqual([false, false, false, false]);
    }
    expect(op('gt', 0, Number.NaN)).toBe(false);
  });

  it('an order operator holds only when the field has the argument\'s type', () => {
    fc.assert(
      fc.property(jsonValue, fc.oneof(fc.integer(), fc.string()), fc.constantFrom(...ORDER), (v, arg, o) => {
        const result = op(o, arg, v);
        if (typeof v !== typeof arg) expect(result).toBe(false);
        else expect(result).toBe(REFERENCE[o](v as number | string, arg));
      }),
    );
  });

  it('matches, starts_with, ends_with hold only on text; contains on text or a list', () => {
    for (const v of [12, true, null, { a: 'x' }]) for (const o of TEXT) expect(op(o, '1', v), `${o} on ${JSON.stringify(v)}`).toBe(false);
    expect([op('matches', '1', ['1']), op('starts_with', '1', ['1']), op('ends_with', '1', ['1']), op('contains', '1', ['1'])]).toEqual([false, false, false, true]);
    // contains looks for an equal element, not for text inside one, and never coerces a number.
    expect([op('contains', '1', [1]), op('contains', '1', ['21'])]).toEqual([false, false]);
  });
});

describe('conditions combined with all, any, not', () => {
  const leaf = fc.oneof(
    fc.record({ 'attributes.v': fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null)) }),
    fc.constantFrom(...ORDER).chain((o) => fc.integer({ min: 0, max: 3 }).map((n) => ({ 'attributes.v': { [o]: n } }))),
    fc.boolean().map((b) => ({ 'attributes.v': { exists: b } })),
  );
  const events = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null), fc.constant(undefined), fc.string({ maxLength: 1 })).map(withV);

  it('not is the negation, any the disjunction, all (and keys side by side) the conjunction', () => {
    fc.assert(
      fc.property(leaf, leaf, leaf, events, (a, b, c, e) => {
        const [x, y, z] = [holds(a, e), holds(b, e), holds(c, e)];
        expect(holds({ not: a }, e)).toBe(!x);
        expect(holds({ any: [a, b, c] }, e)).toBe(x || y || z);
        expect(holds({ all: [a, b, c] }, e)).toBe(x && y && z);
        expect(holds({ any: [a], not: b }, e)).toBe(x && !y);
        expect(holds({ not: { any: [a, b] } }, e)).toBe(!x && !y);
        expect(holds({ all: [a, { not: { all: [b, c] } }] }, e)).toBe(x && !(y && z));
      }),
    );
  });

  it('an empty condition always holds', () => {
    expect(holds({}, testEvent('e'))).toBe(true);
  });
});

describe('condition problems (validate): each located, with what to write instead', () => {
  it('refuses arguments an operator cannot take, unknown operators, and paths that are not field paths', () => {
    const problems = (cond: unknown) => conditionProblems(cond).map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(problems({ 'attributes.d': { in: 3 }, 'attributes.e': { not_in: [{}] }, 'attributes.f': { exists: 'yes' }, 'attributes.g': { gt: true }, 'attributes.h': { lte: null }, 'attributes.i': { contains: 1 }, 'attributes.j': { matches: '(' }, 'attributes.k': { ne: [1] }, 'attributes.l': { like: 'x' } })).toEqual([
      'attributes.d.in: in takes a list of values',
      'attributes.e.not_in: not_in takes a list of values',
      'attributes.f.exists: exists takes true or false',
      'attributes.g.gt: gt takes a number or a string',
      'attributes.h.lte: lte takes a number or a string',
      'attributes.i.contains: contains takes a string',
      expect.stringMatching(/^attributes\.j\.matches: invalid regular expression: /),
      'attributes.k.ne: ne takes a string, number, boolean or null',
      expect.stringMatching(/^attributes\.l\.like: unknown operator "like": use one of eq, ne, in, not_in, gt, gte, lt, lte, exists, matches, contains, starts_with, ends_with$/),
    ]);
    expect(problems({ any: [], all: 'x', not: { 'bad path': 1 }, 'attributes.x': [1] })).toEqual([
      'any: any takes a non-empty list of conditions',
      'all: all takes a non-empty list of conditions',
      'not.bad path: "bad path" is not a field path (e.g. kind, attributes.channel)',
      'attributes.x: expected a value (string, number, boolean, null) or a map of operators',
    ]);
    expect(problems({ any: [{ kind: 'a' }, { to: { starts_with: 1 } }] })).toEqual(['any.1.to.starts_with: starts_with takes a string']);
    expect(problems('kind')).toEqual([': a condition is a map of field paths to values or operators']);
    expect(problems({ kind: 'session', 'attributes.channel': 1, 'raw.TYPE': 'x', durationSec: { gte: 1, lt: 2 }, time: { gt: '2026' }, any: [{ to: { ends_with: '0' } }], not: { from: { exists: true } } })).toEqual([]);
  });

  it('refuses a field no event can have (a misspelt field is missing on every event: the condition would never hold), with the closest one', () => {
    const problems = (cond: unknown) => conditionProblems(cond).map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(problems({ kindx: 'error' })).toEqual([expect.stringMatching(/^kindx: "kindx" is not a field of an event \(did you mean "kind"\?\): a condition reads id, source, kind, .*attributes\.<name>/)]);
    expect(problems({ any: [{ 'atributes.channel': 1 }], not: { 'kind.name': 'x' } })).toEqual([
      expect.stringMatching(/^any\.0\.atributes\.channel: .*did you mean "attributes\.channel"/),
      'not.kind.name: "kind.name": kind is a string and has no fields: test kind itself',
    ]);
  });
});
