import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../event.js';
import { checkEvent } from './event-conditions.js';

const event = (attributes: Record<string, unknown>): CallEvent => ({ id: 'e1', source: 's', kind: 'text', time: '2026-01-01T00:00:00Z', attributes });

describe('pipeline test conditions', () => {
  it('compare objects as a sink writes them: a field an operator removed (set to undefined) is absent', () => {
    const masked = event({ channel: 3, content: undefined, phone: { from: { country: 'US', e164: undefined } } });
    expect(checkEvent({ equals: { attributes: { channel: 3, phone: { from: { country: 'US' } } } } }, masked).every((c) => c.ok)).toBe(true);
    expect(checkEvent({ contains: { attributes: { phone: { from: { country: 'US' } } } } }, masked).every((c) => c.ok)).toBe(true);
    // A value that is really there still counts.
    expect(checkEvent({ equals: { attributes: { channel: 3 } } }, masked).every((c) => c.ok)).toBe(false);
  });
});
