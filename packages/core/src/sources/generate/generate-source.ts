import { z } from 'zod';
import type { CallEvent } from '../../event.js';
import { defineSource, type SourcePage } from '../../plugin.js';
import { duration } from '../../schema.js';
import { CallGenerator } from './call-generator.js';

export const DEFAULT_GENERATE_BATCH_SIZE = 1000;
export const DEFAULT_GENERATE_START = '2026-01-01T00:00:00Z';

export const generateConfigSchema = z.strictObject({
  seed: z.int().default(1).describe('Seed: the same seed gives the same events.'),
  count: z.int().min(0).optional().describe('Events to produce in all, then end. Absent: endless (cannot run with --once).'),
  rate: z.number().positive().optional().describe('Events per second. Absent: as fast as the pipeline takes them.'),
  batch_size: z.int().min(1).max(100_000).default(DEFAULT_GENERATE_BATCH_SIZE).describe('Events per batch.'),
  start_time: z.iso.datetime({ offset: true }).default(DEFAULT_GENERATE_START).describe('Event time of the first event (ISO-8601).'),
  spacing: duration('Simulated time between consecutive events, e.g. 1s, 250ms.', '1s'),
  duplicate_ratio: z.number().min(0).max(0.99).default(0).describe('Share of events that repeat a recent one, to exercise dedupe.'),
});

/** Checkpoint of the generator: the index of the next event. */
interface GenerateCheckpoint {
  next: number;
}

/**
 * `generate`: deterministic synthetic call events (sessions, calls, errors) from a seed, at a
 * set rate or as fast as possible, finite or endless, resumable from its checkpoint.
 *
 * ```yaml
 * sources:
 *   demo: { type: generate, seed: 7, count: 100000, rate: 5000 }
 * ```
 */
export const generateSource = defineSource({
  type: 'generate',
  description: 'Produces deterministic synthetic call events from a seed: for demos, crash tests and benchmarks.',
  configSchema: generateConfigSchema,
  endHint: 'count: <events>',
  checkpointSchema: z.strictObject({ next: z.int().min(0) }),
  create(config, ctx) {
    const spacingMs = config.spacing;
    // With a rate, pages come about ten times a second rather than one large page at a time.
    const pageSize = config.rate === undefined ? config.batch_size : Math.max(1, Math.min(config.batch_size, Math.floor(config.rate / 10)));
    const gen = new CallGenerator({
      seed: config.seed,
      startMs: Date.parse(config.start_time),
      spacingMs,
      duplicateRatio: config.duplicate_ratio,
      source: ctx.id,
    });
    const end = config.count ?? Number.POSITIVE_INFINITY;
    return {
      bounded: config.count !== undefined,
      wellFormedEvents: true,
      // Each event and its attributes are built here, once.
      handsOverEvents: true,
      async *read(checkpoint: GenerateCheckpoint | undefined): AsyncGenerator<SourcePage<GenerateCheckpoint>> {
        let next = checkpoint?.next ?? 0;
        const began = ctx.clock.now();
        const firstIndex = next;
        while (next < end && !ctx.signal.aborted) {
          const n = Math.min(pageSize, end - next);
          if (config.rate !== undefined) {
            const dueMs = ((next - firstIndex) / config.rate) * 1000 - (ctx.clock.now() - began);
            if (dueMs > 1) await ctx.clock.sleep(dueMs, ctx.signal).catch(() => {});
            if (ctx.signal.aborted) return;
          }
          const events: CallEvent[] = [];
          for (let i = 0; i < n; i++) events.push(gen.event(next + i));
          next += n;
          yield { events, checkpoint: { next } };
        }
      },
    };
  },
});
