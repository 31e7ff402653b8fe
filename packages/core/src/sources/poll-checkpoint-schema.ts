import { z } from 'zod';

/**
 * The `checkpointSchema` of a polling source over `streams` (see {@link PollCheckpoint}): each
 * stream's cursor, when each was read, the parts being read and the ids remembered per stream.
 * Used by plum and iplum; the runtime checks a stored position against it (after migration), so
 * a position of another shape stops the start with STATE_CORRUPT instead of being read as "start
 * over" or "past everything".
 */
export function pollCheckpointSchema<S extends string>(streams: readonly [S, ...S[]]) {
  const stream = z.enum(streams);
  const cursor = z.number().min(0);
  const perStream = <T extends z.ZodType>(value: T) => z.partialRecord(stream, value);
  return z.strictObject({
    ...(Object.fromEntries(streams.map((s) => [s, cursor.optional()])) as Record<S, z.ZodOptional<typeof cursor>>),
    '@readAt': perStream(cursor).optional(),
    '@parts': z.array(z.strictObject({ stream, start: cursor, end: cursor, at: z.json() })).optional(),
    '@seen': perStream(z.array(z.tuple([z.number()], z.string()))).optional(),
  });
}

/**
 * The `checkpointSchema` of a source with `accounts` (see accountsFields, version 2): without
 * accounts the source's own position; with them a record of those, one per account name.
 */
export function accountsCheckpointSchema<T extends z.ZodType>(position: T) {
  return z.union([position, z.record(z.string().min(1), position)]);
}
