import { describe, expect, it } from 'vitest';
import { compileStrictTemplate, compileTemplate, templateProblems } from './template.js';
import { testEvent } from '../testing/index.js';

describe('templates', () => {
  it('finds unclosed, empty and stray placeholders, and placeholders that are not field paths', () => {
    expect(templateProblems('kq.{{kind}}.{{attributes.tenant}}')).toEqual([]);
    expect(templateProblems('kq.{{kind')).toHaveLength(1);
    expect(templateProblems('{{ }}')).toHaveLength(1);
    expect(templateProblems('{{}}')).toHaveLength(1);
    expect(templateProblems('kind}}')).toHaveLength(1);
    expect(templateProblems('{{a b}}')).toHaveLength(1);
  });

  it('refuses a field no event can have: not a CallEvent field, nor under attributes. or raw. (a typo renders nothing, for every event)', () => {
    for (const ok of ['{{id}}', '{{source}}.{{kind}}', '{{time}}{{endTime}}{{direction}}{{from}}{{to}}{{durationSec}}', '{{attributes.tenant}}', '{{attributes.a.b}}', '{{raw.log_id}}']) expect(templateProblems(ok), ok).toEqual([]);
    const [typo] = templateProblems('calls.{{sorce}}.{{kind}}');
    expect(typo).toContain('"sorce" is not a field of an event (did you mean "source"?)');
    // The message lists what a template can read.
    expect(typo).toContain('id, source, kind, time, endTime, direction, from, to, durationSec, attributes.<name>, raw.<name>');
    expect(templateProblems('{{tenant}}')).toEqual([expect.stringContaining('"tenant" is not a field of an event')]);
    expect(templateProblems('{{Kind}}')).toEqual([expect.stringContaining('did you mean "kind"?')]);
    // A string field has no fields of its own.
    expect(templateProblems('{{from.number}}')).toEqual([expect.stringContaining('"from.number": from is a string')]);
    expect(templateProblems('{{attributes}}')).toEqual([expect.stringContaining('"attributes" is an object: name one of its fields, e.g. attributes.name')]);
  });

  it('renders a missing field as the fallback, or (strict) says the event lacks it', () => {
    const e = testEvent('x', { kind: 'call', attributes: { n: 0 } });
    expect(compileTemplate('t.{{kind}}.{{attributes.missing}}', 'unknown')(e)).toBe('t.call.unknown');
    expect(compileStrictTemplate('t.{{kind}}.{{attributes.n}}')(e)).toBe('t.call.0');
    expect(compileStrictTemplate('t.{{kind}}.{{attributes.missing}}')(e)).toBeUndefined();
    expect(compileStrictTemplate('fixed')(e)).toBe('fixed');
  });
});
