import { z } from '@plumline/core';
import { isFieldPath } from '@plumline/core/util';

/** Where plumline's sources put phone numbers: covered by `numbers`. */
export const NUMBER_FIELDS = ['from', 'to', 'attributes.number', 'attributes.peer', 'attributes.dnis', 'attributes.phoneNumber'];
/** Where enrich puts its phone results (each holds e164 and national forms). */
export const DEFAULT_PHONE_TARGET = 'attributes.phone';
/** Free text that can hold anything: iPlum text bodies, Plum call logs and error messages. */
export const CONTENT_FIELDS = ['attributes.content', 'attributes.log', 'attributes.message'];
export const DEFAULT_KEY_ENV = 'PLUMLINE_MASK_KEY';
export const DEFAULT_HASH_CHARS = 32;

const fieldPath = z.string().refine(isFieldPath, { message: 'expected a field path such as attributes.dnis' });
const action = z.union([
  z.enum(['hash', 'drop', 'keep']),
  z.strictObject({ truncate: z.int().min(1).max(8).describe('Keep only the last N digits, e.g. ***4567.') }),
]);

/** The config schema of `mask`. */
export const maskConfigSchema = z
  .strictObject({
    numbers: action.default('hash').describe(`Phone numbers in ${NUMBER_FIELDS.join(', ')} and enrich's results under phone_target: hash (HMAC-SHA256, keyed), { truncate: N }, drop or keep.`),
    phone_target: fieldPath.default(DEFAULT_PHONE_TARGET).describe("Where enrich put its phone results (their e164 and national forms are masked like numbers; country, type and area code are kept)."),
    content: z.enum(['hash', 'drop', 'keep']).default('drop').describe(`Free text (${CONTENT_FIELDS.join(', ')}): drop (default), hash or keep.`),
    raw: z.enum(['drop', 'keep']).default('drop').describe('The record as received holds every number in clear: dropped unless you say keep.'),
    fields: z.record(fieldPath, action).default({}).describe('More fields and what to do with each (overrides the above for that field).'),
    key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default(DEFAULT_KEY_ENV).describe('Environment variable holding the HMAC key (at least 16 bytes); needed when anything is hashed.'),
    hash_chars: z.int().min(16).max(64).default(DEFAULT_HASH_CHARS).describe('Hex characters of the HMAC kept (32 = 128 bits).'),
  })
  .superRefine((c, ctx) => {
    if (c.raw === 'keep' && c.numbers !== 'keep') ctx.addIssue({ code: 'custom', path: ['raw'], message: 'raw: keep would leave every number in clear inside the raw record; drop raw, or set numbers: keep' });
  });

/** `mask`'s config, validated. */
export type MaskConfig = z.output<typeof maskConfigSchema>;
export type MaskAction = MaskConfig['numbers'];
