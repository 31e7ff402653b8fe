import { z } from 'zod';
import type { CallEvent } from '../event.js';
import { defineSink, defineSource, type SinkBatch, type SourcePage } from '../plugin.js';
import type { BatchPosition } from '../receipt.js';

export { MemoryStateStore } from '../state/directory-state-store.js';

/** A minimal valid event for tests. */
export function testEvent(id: string, overrides: Partial<CallEvent> = {}): CallEvent {
  return { id, source: 'test', kind: 'session', time: '2026-01-01T00:00:00.000Z', attributes: {}, ...overrides };
}

/**
 * A source plugin (type `array`) that emits the given pages in order and ends. Its checkpoint
 * is the index of the next page, so it resumes correctly after a restart.
 */
export function arraySource(pages: readonly (readonly CallEvent[])[], type = 'array') {
  return defineSource({
    type,
    description: 'Emits fixed pages of events (tests).',
    configSchema: z.strictObject({}),
    create() {
      return {
        bounded: true,
        async *read(checkpoint): AsyncGenerator<SourcePage> {
          for (let i = (checkpoint as { next?: number } | undefined)?.next ?? 0; i < pages.length; i++) {
            yield { events: [...pages[i]!], checkpoint: { next: i + 1 } };
          }
        },
      };
    },
  });
}

/** What a {@link memorySink} saw. */
export interface MemorySinkRecord {
  events: CallEvent[];
  writes: SinkBatch[];
  positions: BatchPosition[][];
  closed: number;
  flushed: number;
}

/**
 * A sink plugin (type `memory`) that records every write. `delayMs` (per write, or a function
 * of the write number) simulates a slow sink; `maxInFlight` allows concurrent, out-of-order completion.
 */
export function memorySink(options: { type?: string; delayMs?: number | ((n: number) => number); maxInFlight?: number; failTimes?: number } = {}) {
  const record: MemorySinkRecord = { events: [], writes: [], positions: [], closed: 0, flushed: 0 };
  let n = 0;
  let failures = options.failTimes ?? 0;
  const plugin = defineSink({
    type: options.type ?? 'memory',
    description: 'Records events in memory (tests).',
    configSchema: z.strictObject({}),
    create() {
      return {
        maxInFlight: options.maxInFlight ?? 1,
        async write(batch) {
          const i = n++;
          const d = typeof options.delayMs === 'function' ? options.delayMs(i) : (options.delayMs ?? 0);
          if (d > 0) await new Promise((r) => setTimeout(r, d));
          if (failures > 0) {
            failures--;
            throw new Error('simulated transient sink failure');
          }
          record.writes.push(batch);
          record.positions.push([...batch.positions]);
          record.events.push(...batch.events);
        },
        async flush() {
          record.flushed++;
        },
        async close() {
          record.closed++;
        },
      };
    },
  });
  return { plugin, record };
}
