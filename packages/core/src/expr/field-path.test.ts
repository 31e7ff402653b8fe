import { describe, expect, it } from 'vitest';
import { setPathCopying } from './field-path.js';

describe('copying an event that has a __proto__ key of its own', () => {
  it('setPathCopying keeps it a key: the copy\'s prototype is not changed', () => {
    const attrs = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const target: Record<string, unknown> = { attributes: attrs };
    setPathCopying(target, ['attributes', 'b'], 2);
    const copy = target.attributes as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(copy).sort()).toEqual(['__proto__', 'a', 'b']);
  });
});
