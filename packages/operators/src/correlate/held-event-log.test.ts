import { describe, expect, it } from 'vitest';
import { createLogger } from '@plumline/core';
import { MemoryStateStore, testEvent } from '@plumline/core/testing';
import { HeldEventLog } from './held-event-log.js';

const record = (n: number) => JSON.stringify({ n, e: testEvent(`e${n}`), p: [{ source: 'gen', seq: n }], t: 0 });

describe('held-event log, as exactly-once writes it', () => {
  it('restores what a rewrite named and what came after it, never a number gone earlier or a stale append of one it left out', async () => {
    const store = new MemoryStateStore();
    const lines = [
      record(1),
      record(2),
      JSON.stringify({ g: [2] }),
      // A rewrite: of the numbers below 5, only 1 lives on.
      JSON.stringify({ upto: 5, live: [1] }),
      record(1),
      // An append committed after the rewrite, staged on a batch before it: 3 had left meanwhile.
      record(3),
      record(6),
      // A release's "gone" line committed before the held event's own line.
      JSON.stringify({ g: [7] }),
      record(7),
      record(8),
    ];
    await store.append('held.log', Buffer.from(lines.join('\n') + '\n'));
    const log = new HeldEventLog(store, createLogger({ level: 'silent' }), 'correlate', false);
    const restored = await log.load(() => true);
    expect(restored.map((r) => r.n).sort((a, b) => a - b)).toEqual([1, 6, 8]);
  });
});
