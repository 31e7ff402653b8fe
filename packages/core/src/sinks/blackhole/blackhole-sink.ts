import { z } from 'zod';
import { defineSink } from '../../plugin.js';

export const blackholeConfigSchema = z.strictObject({});

/**
 * `blackhole`: acknowledges and discards every batch. For benchmarks and for testing
 * the parts of a pipeline before its sink.
 */
export const blackholeSink = defineSink({
  type: 'blackhole',
  description: 'Discards events (acknowledging them at once): for benchmarks and dry runs.',
  configSchema: blackholeConfigSchema,
  create() {
    return {
      write: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  },
});
