import { describe, expect, it } from 'vitest';
import { decodeIndex, encodeRecord, planRecovery, type IndexRecord } from './commit-index.js';

const committedUpTo = (seqs: Record<string, number>) => (ps: readonly { source: string; seq: number }[]) => ps.every((p) => p.seq <= (seqs[p.source] ?? 0));

describe('commit index recovery plan', () => {
  it('truncates writes past the committed checkpoint at the tail', () => {
    const records: IndexRecord[] = [
      { o: ['/f', 10, 'f', 0] },
      { b: [['/f', 10, 20]], p: [['a', 1]] },
      { b: [['/f', 20, 35]], p: [['a', 2]] },
      { b: [['/f', 35, 50]], p: [['a', 3]] },
    ];
    expect(planRecovery(records, committedUpTo({ a: 2 }))).toEqual([{ file: '/f', path: 'f', part: 0, keep: [[0, 35]], needsRewrite: false, length: 35 }]);
  });

  it('keeps committed writes of one source that follow uncommitted writes of another (rewrite, not truncate)', () => {
    const records: IndexRecord[] = [
      { o: ['/f', 0, 'f', 0] },
      { b: [['/f', 0, 10]], p: [['a', 1]] },
      { b: [['/f', 10, 20]], p: [['b', 1]] },
      { b: [['/f', 20, 30]], p: [['a', 2]] },
    ];
    const [plan] = planRecovery(records, committedUpTo({ a: 2, b: 0 }));
    expect(plan).toMatchObject({ keep: [[0, 10], [20, 30]], needsRewrite: true, length: 20 });
  });

  it('ignores a torn last line', () => {
    const text = encodeRecord({ o: ['/f', 0, 'f', 0] }) + encodeRecord({ b: [['/f', 0, 5]], p: [['a', 1]] }) + '{"b":[["/f",5,';
    expect(decodeIndex(text)).toHaveLength(2);
  });
});
