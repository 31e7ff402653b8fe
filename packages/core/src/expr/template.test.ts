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

  it('renders a missing field as the fallback, or (strict) says the event lacks it', () => {
    const e = testEvent('x', { kind: 'call', attributes: { n: 0 } });
    expect(compileTemplate('t.{{kind}}.{{attributes.missing}}', 'unknown')(e)).toBe('t.call.unknown');
    expect(compileStrictTemplate('t.{{kind}}.{{attributes.n}}')(e)).toBe('t.call.0');
    expect(compileStrictTemplate('t.{{kind}}.{{attributes.missing}}')(e)).toBeUndefined();
    expect(compileStrictTemplate('fixed')(e)).toBe('fixed');
  });
});
