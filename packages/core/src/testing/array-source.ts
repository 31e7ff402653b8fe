import { z } from 'zod';
import type { CallEvent } from '../event.js';
import { defineSource, type SourcePage } from '../plugin.js';

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
