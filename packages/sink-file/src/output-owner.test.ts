import { describe, expect, it } from 'vitest';
import { rotationBasesOf } from './output-owner.js';

describe('rotationBasesOf (the fixed paths a file is a rotation part of, as partFile names parts)', () => {
  it('finds the base of a part, with or without an extension or gzip', () => {
    expect(rotationBasesOf('/o/x.1.ndjson')).toEqual(['/o/x.ndjson']);
    expect(rotationBasesOf('/o/x.12.ndjson.gz')).toContain('/o/x.ndjson.gz');
    expect(rotationBasesOf('/o/x.3')).toEqual(['/o/x']);
  });
  it('names nothing for a file that is no part', () => {
    expect(rotationBasesOf('/o/x.ndjson')).toEqual([]);
    expect(rotationBasesOf('/o/x.0.ndjson')).toEqual([]);
    expect(rotationBasesOf('/o/2026.ndjson')).toEqual([]);
  });
});
