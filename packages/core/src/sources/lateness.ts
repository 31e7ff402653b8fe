import { duration } from '../schema.js';
import { parseDuration } from '../util/duration.js';
import type { Logger } from '../logger.js';

/** Long enough for a 90-minute call listed only once it ended, with a poll interval to spare. */
export const DEFAULT_LATENESS = '2h';

/**
 * `lateness` (and `overlap`, its former name) for a polling source's config schema. Optional in
 * the schema so that a file giving both can be told so; {@link latenessMs} applies the default.
 */
export const latenessFields = {
  lateness: duration(
    `How long after its start a record may first be listed (a service may list a call only once it ended: cover the longest call). Each poll reads the last \`lateness\` of its range again and delivers only what it did not deliver before (the ids it keeps for that are in the checkpoint). Default: ${DEFAULT_LATENESS}. Cost: docs/apis.md.`,
  ).optional(),
  overlap: duration('Deprecated: the former name of `lateness`.').optional(),
};

/** The config problem of giving both names, or undefined. */
export function latenessProblem(c: { lateness?: number; overlap?: number }): string | undefined {
  return c.lateness !== undefined && c.overlap !== undefined ? 'give lateness only: overlap is its former name' : undefined;
}

/** The lateness of a polling source's config in milliseconds (`lateness`, or the deprecated `overlap`, or the default). */
export function latenessMs(c: { lateness?: number; overlap?: number }): number {
  return c.lateness ?? c.overlap ?? parseDuration(DEFAULT_LATENESS);
}

/** Says once, at start, that `overlap` is now `lateness`. */
export function warnIfOverlapGiven(c: { overlap?: number }, logger: Logger): void {
  if (c.overlap !== undefined) logger.warn({ code: 'CONFIG_DEPRECATED', key: 'overlap' }, 'overlap is deprecated: it is now called lateness');
}
