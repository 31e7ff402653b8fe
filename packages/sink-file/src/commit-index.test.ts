import { describe, expect, it } from 'vitest';
import { decodeIndex, encodeRecord, IndexDamage, planRecovery, type IndexRecord } from './commit-index.js';

const committedUpTo = (seqs: Record<string, number>) => (ps: readonly { source: string; seq: number }[]) => ps.every((p) => p.seq <= (seqs[p.source] ?? 0));

describe('commit index recovery plan', () => {
  it('truncates writes past the committed checkpoint at the tail', () => {
    const records: IndexRecord[] = [
      { o: ['/f', 10, 'f', 0] },
      { b: [['/f', 10, 20]], p: [['a', 1]] },
      { b: [['/f', 20, 35]], p: [['a', 2]] },
      { b: [['/f', 35, 50]], p: [['a', 3]] },
    ];
    expect(planRecovery(records, committedUpTo({ a: 2 }))).toEqual([{ file: '/f', path: 'f', part: 0, keep: [[0, 35]], needsRewrite: false, length: 35, coveredTo: 50 }]);
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

  it('ignores a torn last line (a crash during the append), and a last line that fails its checksum', () => {
    const text = encodeRecord({ o: ['/f', 0, 'f', 0] }, 1) + encodeRecord({ b: [['/f', 0, 5]], p: [['a', 1]] }, 2);
    const torn = decodeIndex(text + '{"n":3,"b":[["/f",5,');
    expect(torn.records).toHaveLength(2);
    expect(torn.torn).toBe('{"n":3,"b":[["/f",5,');
    const bad = decodeIndex(text + encodeRecord({ b: [['/f', 5, 9]], p: [['a', 2]] }, 3).replace('9', '8'));
    expect(bad.records).toHaveLength(2);
    expect(bad.torn).toMatch(/\n$/);
  });

  it('refuses a damaged line that is not the last, and a gap in the ordinals', () => {
    const lines = [1, 2, 3].map((seq) => encodeRecord({ b: [['/f', seq, seq + 1]], p: [['a', seq]] }, seq));
    expect(() => decodeIndex(lines[0]! + lines[1]!.replace('"a"', '"b"') + lines[2]!)).toThrow(IndexDamage);
    expect(() => decodeIndex(lines[0]! + lines[2]!)).toThrow(/records between them are missing/);
    // The format before version 2 (no checksums): an unparsable line before the last is damage too.
    expect(() => decodeIndex('{"o":["/f",0,"f",0]}\n{"b":[["/f",0\n{"b":[["/f",5,9]],"p":[["a",2]]}\n')).toThrow(/line 2/);
    expect(decodeIndex('{"o":["/f",0,"f",0]}\n{"b":[["/f",0').records).toHaveLength(1);
  });
});
