import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { MemoryStateStore } from '../state/directory-state-store.js';
import { CommitCoordinator, loggableCheckpoints } from './commit-coordinator.js';

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

describe('CommitCoordinator.isCommitted', () => {
  const coordinator = (restored: Record<string, unknown>) => new CommitCoordinator(new MemoryStateStore(), restored as never, createLogger({ level: 'silent' }), () => undefined, () => false);

  it('answers by the committed seq of the batch\'s source', () => {
    const c = coordinator({ gen: { seq: 5, position: { next: 500 } } });
    expect(c.isCommitted([{ source: 'gen', seq: 5 }])).toBe(true);
    expect(c.isCommitted([{ source: 'gen', seq: 6 }])).toBe(false);
    expect(c.isCommitted([{ source: 'other', seq: 1 }])).toBe(false);
  });

  // A seq that is not a number compared false: "not committed", and a file sink removed output on that word.
  it('refuses to answer (STATE_CORRUPT) for a checkpoint without a seq, rather than say "not committed"', () => {
    const c = coordinator({ gen: { position: { next: 20000 } } });
    expect(() => c.isCommitted([{ source: 'gen', seq: 3 }])).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
  });
});
