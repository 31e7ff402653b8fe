import { describe, expect, it } from 'vitest';
import { callbackConfigSchema } from './callback-config.js';

describe('callback receiver config', () => {
  it('refuses a port above 65535 at validate time (the listen would fail at run time)', () => {
    const issues = (listen: string) => {
      const r = callbackConfigSchema.safeParse({ listen, auth: { path_secret: 'a-long-secret' } });
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(issues('127.0.0.1:70000')).toEqual(['listen']);
    expect(issues('127.0.0.1:65535')).toEqual([]);
    expect(issues('[::1]:0')).toEqual([]);
  });
});
