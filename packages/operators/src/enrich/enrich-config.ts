import { duration, z } from '@plumline/core';
import { isFieldPath } from '@plumline/core/util';
import { isKnownZone } from './local-clock.js';

export const DEFAULT_REGION = 'US';
export const DEFAULT_PHONE_FIELDS = ['from', 'to'];
export const DEFAULT_PHONE_TARGET = 'attributes.phone';
export const DEFAULT_RELOAD_INTERVAL = '5s';
export const DEFAULT_BUSINESS_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;

const fieldPath = z.string().refine(isFieldPath, { message: 'expected a field path such as attributes.dnis' });
/**
 * Where enrich writes: under `attributes.` only. A top-level field (`id`, `time`, …) is one every
 * event needs with its own type; a row or a result object written there would replace it and the
 * sinks would refuse every event — so it is refused here, where the key can be named.
 */
const writePath = fieldPath.refine((p) => p.startsWith('attributes.'), {
  message: 'enrich writes under attributes. (e.g. attributes.line): a top-level field is one every event needs, and writing there would replace it',
});
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24-hour)');

/** The config schema of `enrich` (keys in docs/reference.md). */
export const enrichConfigSchema = z
  .strictObject({
    duration: z.boolean().default(true).describe('Set `durationSec` from `time` and `endTime` where it is missing.'),
    phone: z
      .union([
        z.literal(false),
        z.strictObject({
          fields: z.array(fieldPath).min(1).default(DEFAULT_PHONE_FIELDS).describe('Fields holding phone numbers.'),
          default_region: z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166 region such as US').default(DEFAULT_REGION).describe('Region for numbers written without a country code.'),
          target: writePath.default(DEFAULT_PHONE_TARGET).describe('Where the results go: `{target}.{field name}` = { e164, country, type, areaCode } or { notANumber, reason }.'),
        }),
      ])
      .default({ fields: DEFAULT_PHONE_FIELDS, default_region: DEFAULT_REGION, target: DEFAULT_PHONE_TARGET })
      .describe('E.164 normalization with libphonenumber-js (on by default for from/to); false turns it off.'),
    lookups: z
      .array(
        z.strictObject({
          file: z.string().min(1).describe('CSV (header row) or JSON file, relative to the pipeline file.'),
          key: z.string().min(1).describe('Column (CSV) or property (JSON) that keys the rows.'),
          match: fieldPath.describe('Event field whose value is looked up, e.g. attributes.phone.to.e164.'),
          as: writePath.describe('Where the matched row goes, e.g. attributes.line.'),
          default: z.record(z.string(), z.unknown()).optional().describe('Set at `as` when no row matches (absent: nothing is set; a miss is never an error).'),
          reload_interval: duration('How often the file is checked for changes (0 = never).', DEFAULT_RELOAD_INTERVAL),
        }),
      )
      .default([])
      .describe('Lookup tables: the row whose key equals the event field is merged under `as`.'),
    local_time: z
      .strictObject({
        zone: z.string().refine(isKnownZone, 'unknown time zone (expected an IANA name such as America/New_York)').describe('IANA time zone.'),
        target: writePath.default('attributes.local').describe('Where { time, hour, weekday, offsetMin, businessHours } go.'),
        business_hours: z
          .strictObject({
            days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).default([...DEFAULT_BUSINESS_DAYS]).describe('Business days (default mon–fri).'),
            start: clock.default('09:00').describe('Opening time, local (default 09:00).'),
            end: clock.default('17:00').describe('Closing time, local, exclusive (default 17:00).'),
            holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')).default([]).describe('Local dates that are never business hours.'),
          })
          .optional()
          .describe('Adds `businessHours: true|false` under target, from the local start time.'),
      })
      .optional()
      .describe('Local time of the event start in a zone.'),
  })
  .superRefine((c, ctx) => {
    const bh = c.local_time?.business_hours;
    if (bh && bh.start >= bh.end) ctx.addIssue({ code: 'custom', path: ['local_time', 'business_hours', 'end'], message: `end (${bh.end}) must be after start (${bh.start})` });
  });

/** `enrich`'s config, validated. */
export type EnrichConfig = z.output<typeof enrichConfigSchema>;
