import { duration, secret, z } from '@plumline/core';
import { accountsFields, accountsProblems, latenessFields, latenessProblem } from '@plumline/core/sources';

export const DEFAULT_IPLUM_BASE_URL = 'https://api.iplum.com/';
export const IPLUM_STREAMS = ['usage', 'recordings'] as const;
/** The usage types iPlum's getusage accepts. */
export const USAGE_TYPES = ['iplumtext', 'externalcall', 'externaltext', 'fax'] as const;
/**
 * What is fetched by default: the types the vendor page lists, and `iplumcall`, which its own
 * example sends — without it iPlum-to-iPlum calls would silently never be fetched.
 */
export const DEFAULT_USAGE_TYPES = [...USAGE_TYPES, 'iplumcall'] as const;
/** The longest range one iPlum request may cover (5 days). */
export const MAX_WINDOW_MS = 5 * 86_400_000;

const instant = z.union([z.int().min(0), z.iso.datetime({ offset: true })]).describe('ISO-8601 or UNIX seconds.');

/** The config schema of the `iplum` source. */
export const iplumSourceConfigSchema = z
  .strictObject({
    base_url: z.url().default(DEFAULT_IPLUM_BASE_URL).describe('API base URL (the emulator: http://127.0.0.1:8082/).'),
    access_key: z.string().min(1).optional().describe('API access key (sent in X-iPlumAuth-AccessKey); or list `accounts`.'),
    secret_key: secret('API secret key: signs requests, never sent, redacted from logs.').optional(),
    username: z.string().min(1).optional().describe("Administrator's iPlum login id."),
    ...accountsFields({
      access_key: z.string().min(1).describe("This account's API access key."),
      secret_key: secret("This account's API secret key (redacted from logs)."),
      username: z.string().min(1).describe("This account's administrator login id."),
    }),
    version: z.string().default('v1').describe('X-iPlumAuth-Version.'),
    lang: z.string().length(2).default('en').describe('ISO 639-1 language of error descriptions.'),
    streams: z.array(z.enum(IPLUM_STREAMS)).min(1).default([...IPLUM_STREAMS]).refine((s) => new Set(s).size === s.length, 'list each stream once').describe('usage (calls, texts, faxes) and/or recordings.'),
    usage_types: z
      .array(z.string().transform((s) => s.toLowerCase()).pipe(z.enum(DEFAULT_USAGE_TYPES)))
      .min(1)
      .default([...DEFAULT_USAGE_TYPES])
      .describe('Usage types to fetch (case-insensitive): iplumtext, externalcall, externaltext, fax, iplumcall. Default: all five.'),
    start: instant.optional(),
    end: instant.optional().describe('End of the range (exclusive). Absent: now, and keep polling.'),
    backfill: duration('How far back the first run starts (alternative to start), e.g. 30d.').optional(),
    poll_interval: duration('Time between polls after the first range.', '60s'),
    ...latenessFields,
    window: duration('Longest window per request (the API refuses more than 5 days).', '5d'),
    content: z.boolean().default(false).describe('Fetch /usage/getcontent for every text and fax (message text or media URL).'),
    recording_urls: z.boolean().default(false).describe('Fetch /callrecordings/getrecordingfile for every recording (its .mp3 URL).'),
    concurrency: z.int().min(1).max(256).default(8).describe('Parallel content / recording-URL requests.'),
    request_timeout: duration('Timeout of one request.', '30s'),
    max_retries: z.int().min(0).max(100).default(5).describe('Retries of a request that failed with 429, 5xx, a timeout or an unreadable body.'),
    max_retry_duration: duration('How long a window that keeps failing for a reason that may pass (the API down, 5xx) is tried again, at most a minute apart, before the source fails. Absent: without limit when polling, 5m for a bounded run (--once, end).').optional(),
    include_raw: z.boolean().default(true).describe('Keep the original record under `raw`.'),
  })
  .superRefine((c, ctx) => {
    for (const p of accountsProblems(c, ['access_key', 'secret_key', 'username'])) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
    if (c.window > MAX_WINDOW_MS) ctx.addIssue({ code: 'custom', path: ['window'], message: 'window can be at most 5d: iPlum refuses longer ranges (ERR_INVALID_DATE)' });
    const lateness = latenessProblem(c);
    if (lateness) ctx.addIssue({ code: 'custom', path: ['overlap'], message: lateness });
    if (c.start !== undefined && c.backfill !== undefined) ctx.addIssue({ code: 'custom', path: ['backfill'], message: 'give either start or backfill, not both' });
    if (c.start !== undefined && c.end !== undefined && toEpochMs(c.end) <= toEpochMs(c.start)) ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start' });
  });

/** The `iplum` source's config, validated. */
export type IplumSourceConfig = z.output<typeof iplumSourceConfigSchema>;
/** What the `iplum` source can read: `usage`, `recordings`. */
export type IplumStream = (typeof IPLUM_STREAMS)[number];

export function toEpochMs(v: number | string): number {
  return typeof v === 'number' ? v * 1000 : Date.parse(v);
}
