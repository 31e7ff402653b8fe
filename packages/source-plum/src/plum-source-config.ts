import { isTimeZone } from '@plumline/core/util';
import { duration, secret, z } from '@plumline/core';
import { accountsFields, accountsProblems, latenessFields, latenessProblem } from '@plumline/core/sources';

export const DEFAULT_PLUM_BASE_URL = 'https://hosting.plumvoice.com/ws/';
export const PLUM_STREAMS = ['calls', 'sessions', 'errors'] as const;
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;
export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_MAX_RETRIES = 5;

const instant = z
  .union([z.int().min(0), z.iso.datetime({ offset: true })])
  .describe('ISO-8601 (e.g. 2026-11-20T00:00:00Z) or UNIX seconds.');

/** The config schema of the `plum` source. */
export const plumSourceConfigSchema = z
  .strictObject({
    base_url: z.url().default(DEFAULT_PLUM_BASE_URL).describe('API base URL (the emulator: http://127.0.0.1:8081/ws/).'),
    username: z.string().min(1).optional().describe('Plum DEV login (or list `accounts`).'),
    password: secret('Plum DEV password (redacted from logs).').optional(),
    ...accountsFields({ username: z.string().min(1).describe('Plum DEV login of this account.'), password: secret('Plum DEV password of this account (redacted from logs).') }),
    streams: z
      .array(z.enum(PLUM_STREAMS))
      .min(1)
      .default([...PLUM_STREAMS])
      .refine((s) => new Set(s).size === s.length, 'list each stream once')
      .describe('What to read: calls (list + per-call detail), sessions, errors.'),
    format: z.enum(['json', 'xml']).default('json').describe('Response format asked for with Accept.'),
    numbers: z.array(z.string().min(1)).min(1).optional().describe('Only calls to these numbers (one listing per number). Absent: all.'),
    page_size: z.int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).describe('`limit` per list request (1..10000).'),
    start: instant.optional(),
    end: instant.optional().describe('End of the range (exclusive). Absent: now, and keep polling.'),
    backfill: duration('How far back the first run starts (alternative to start), e.g. 2d.').optional(),
    poll_interval: duration('Time between polls after the first range.', '60s'),
    ...latenessFields,
    concurrency: z.int().min(1).max(256).default(DEFAULT_CONCURRENCY).describe('Parallel calls/log/{id} requests.'),
    request_timeout: duration('Timeout of one request (headers and body).', '30s'),
    max_retries: z.int().min(0).max(100).default(DEFAULT_MAX_RETRIES).describe('Retries of a request that failed with 429, 5xx, a timeout or an unreadable body.'),
    max_retry_duration: duration('How long a range that keeps failing for a reason that may pass (the API down, 5xx, a short listing) is tried again, at most a minute apart, before the source fails. Absent: without limit when polling, 5m for a bounded run (--once, end).').optional(),
    time_zone: z.string().default('America/New_York').refine(isTimeZone, 'not an IANA time zone (e.g. America/New_York)').describe("Zone of the platform's wall clock, used for error lines (which carry no epoch)."),
    include_raw: z.boolean().default(true).describe('Keep the original line or record under `raw`.'),
  })
  .superRefine((c, ctx) => {
    for (const p of accountsProblems(c, ['username', 'password'])) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
    const lateness = latenessProblem(c);
    if (lateness) ctx.addIssue({ code: 'custom', path: ['overlap'], message: lateness });
    if (c.start !== undefined && c.backfill !== undefined) ctx.addIssue({ code: 'custom', path: ['backfill'], message: 'give either start or backfill, not both' });
    const s = c.start === undefined ? undefined : toEpochSec(c.start);
    const e = c.end === undefined ? undefined : toEpochSec(c.end);
    if (s !== undefined && e !== undefined && e <= s) ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start' });
  });

/** The `plum` source's config, validated. */
export type PlumSourceConfig = z.output<typeof plumSourceConfigSchema>;
/** What the `plum` source can read: `calls`, `sessions`, `errors`. */
export type PlumStream = (typeof PLUM_STREAMS)[number];

export function toEpochSec(v: number | string): number {
  return typeof v === 'number' ? v : Math.floor(Date.parse(v) / 1000);
}
