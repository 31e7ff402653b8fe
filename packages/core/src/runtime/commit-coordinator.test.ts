import { describe, expect, it } from 'vitest';
import { loggableCheckpoints } from './commit-coordinator.js';

describe('loggableCheckpoints', () => {
  it('shows the ids a polling source keeps for lateness as a count per stream, and leaves everything else as it is', () => {
    const checkpoints = {
      plum: { seq: 3, position: { calls: 100, '@readAt': { calls: 100 }, '@seen': { calls: [[99, 'a', 'b'], [100, 'c']] } } },
      gen: { seq: 7, position: { next: 7000 } },
      idle: { seq: 0, position: null },
    };
    expect(loggableCheckpoints(checkpoints as never)).toEqual({
      plum: { seq: 3, position: { calls: 100, '@readAt': { calls: 100 }, '@seen': { calls: '3 ids' } } },
      gen: { seq: 7, position: { next: 7000 } },
      idle: { seq: 0, position: null },
    });
    // The checkpoints themselves are not changed.
    expect(checkpoints.plum.position['@seen'].calls).toHaveLength(2);
  });
});
