import { defineOperator, mapEvents, z } from '@plumline/core';
import { compileGetter, isFieldPath } from '@plumline/core/util';
import { DEFAULT_PLUM_TIME_ZONE, parsePlumLine } from './parse/plum-line-parser.js';

export const plumParseConfigSchema = z.strictObject({
  field: z.string().refine(isFieldPath, 'expected a field path').default('raw').describe('Field holding the raw Plum line.'),
  time_zone: z.string().default(DEFAULT_PLUM_TIME_ZONE).describe("Zone of the platform's wall clock, for error lines."),
  keep_unparsed: z.boolean().default(false).describe('Pass events whose field is not a string on unchanged (instead of dead-lettering them).'),
});

/**
 * `plum_parse`: turns raw Plum session and error lines (e.g. from `stdin` or a file) into
 * `session` / `error` events, with the same parser the `plum` source uses. A line that does not
 * parse goes to the dead-letter output with the reason.
 *
 * ```yaml
 * transforms:
 *   parsed: { type: plum_parse, inputs: [lines], field: attributes.line }
 * ```
 */
export const plumParseOperator = defineOperator({
  type: 'plum_parse',
  description: 'Parses raw Plum session/error lines into session and error events.',
  configSchema: plumParseConfigSchema,
  create(config) {
    const get = compileGetter(config.field);
    return {
      apply: mapEvents((e) => {
        const line = get(e);
        if (typeof line !== 'string') {
          if (config.keep_unparsed) return e;
          throw new TypeError(`field ${config.field} holds no Plum line`);
        }
        return parsePlumLine(line, config.time_zone);
      }),
    };
  },
});
