import { describe, expect, it } from 'vitest';
import { pathsCanMeet, renderedPathPatterns } from './path-overlap.js';

/** Whether two sinks' paths can write one file, as validate asks it. */
function meet(a: string, b: string, o: { rotateA?: boolean; rotateB?: boolean; gzip?: boolean } = {}): boolean {
  const pa = renderedPathPatterns(a, o.gzip ?? false, o.rotateA ?? false);
  const pb = renderedPathPatterns(b, o.gzip ?? false, o.rotateB ?? false);
  return pa.some((x) => pb.some((y) => pathsCanMeet(x, y)));
}

describe('path overlap (validate: two file sinks of one pipeline that can write one file)', () => {
  it('a rotated path owns its later parts: name.N.ext, fixed or rendered by another template', () => {
    expect(meet('o3/x.ndjson', 'o3/x.1.ndjson', { rotateA: true })).toBe(true);
    expect(meet('o3/x.ndjson', 'o3/x.12.ndjson', { rotateA: true })).toBe(true);
    expect(meet('o3/x.1.ndjson', 'o3/x.ndjson', { rotateB: true })).toBe(true);
    expect(meet('o3/x.ndjson', 'o3/x.{{kind}}.ndjson', { rotateA: true })).toBe(true);
    expect(meet('o3/x', 'o3/x.3', { rotateA: true })).toBe(true);
    expect(meet('o3/x.ndjson', 'o3/x.1.ndjson.gz', { rotateA: true, gzip: true })).toBe(true);
  });

  it('without rotate, or for names that are no part number, they do not meet', () => {
    expect(meet('o3/x.ndjson', 'o3/x.1.ndjson')).toBe(false);
    expect(meet('o3/x.ndjson', 'o3/x.backup.ndjson', { rotateA: true })).toBe(false);
    expect(meet('o3/x.ndjson', 'o3/x.ndjson.1', { rotateA: true })).toBe(false);
    expect(meet('o3/x.ndjson', 'o4/x.1.ndjson', { rotateA: true })).toBe(false);
  });

  it('templates: one fixed directory inside the other\'s rendered one meets; siblings do not', () => {
    expect(meet('o/{{kind}}.ndjson', 'o/session.ndjson')).toBe(true);
    expect(meet('o/{{kind}}/%Y.ndjson', 'o/call/2026.ndjson')).toBe(true);
    expect(meet('o/{{kind}}/%Y.ndjson', 'o/call/latest.ndjson')).toBe(false);
    expect(meet('o/a/{{kind}}.ndjson', 'o/b/{{kind}}.ndjson')).toBe(false);
  });
});
