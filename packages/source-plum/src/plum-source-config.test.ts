import { describe, expect, it } from 'vitest';
import { latenessMs } from '@plumline/core/sources';
import { plumSourceConfigSchema } from './plum-source-config.js';

const base = { username: 'u', password: 'p' };

describe('plum source config: lateness', () => {
  it('defaults to 2h, long enough for a 90-minute call listed once it ended', () => {
    expect(latenessMs(plumSourceConfigSchema.parse(base))).toBe(2 * 3600_000);
  });

  it('takes overlap, its former name, and refuses both at once, at overlap', () => {
    expect(latenessMs(plumSourceConfigSchema.parse({ ...base, overlap: '10m' }))).toBe(600_000);
    const r = plumSourceConfigSchema.safeParse({ ...base, overlap: '10m', lateness: '3h' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['overlap']);
  });
});
