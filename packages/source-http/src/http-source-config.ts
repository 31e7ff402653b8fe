import { duration, secret, z } from '@plumline/core';
import { accountsFields, accountsProblems } from '@plumline/core/sources';
import { isFieldPath, isTimeZone } from '@plumline/core/util';

/** The placeholders a request template may hold. */
export const REQUEST_VARS = ['from', 'to', 'cursor', 'page', 'offset', 'limit'] as const;
export type RequestVar = (typeof REQUEST_VARS)[number];
const VAR_RE = /\{\{\s*([^}\s]*)\s*\}\}/g;

/** The placeholders `text` holds, and problems with them (unknown names, unclosed braces). */
export function requestTemplateProblems(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(VAR_RE)) if (!(REQUEST_VARS as readonly string[]).includes(m[1]!)) out.push(`"{{${m[1]}}}" is not a request placeholder: use ${REQUEST_VARS.map((v) => `{{${v}}}`).join(', ')}`);
  const rest = text.replace(VAR_RE, '');
  if (rest.includes('{{') || rest.includes('}}')) out.push('unbalanced "{{" / "}}": write placeholders as {{from}}');
  return out;
}

/** The placeholders a template uses. */
export function requestVarsOf(text: string): Set<string> {
  return new Set([...text.matchAll(VAR_RE)].map((m) => m[1]!));
}

const requestTemplate = (description: string) =>
  z
    .string()
    .superRefine((t, ctx) => {
      for (const m of requestTemplateProblems(t)) ctx.addIssue({ code: 'custom', message: m });
    })
    .describe(description);

const recordPath = z.string().refine((p) => p === '' || isFieldPath(p), 'expected a dotted path such as data.items (or "" for the body itself)');
const fieldPath = z.string().refine(isFieldPath, 'expected a dotted path into the record, e.g. caller.number');

/** A value of the event taken from the record: a literal, `{ copy: path }` or `{ template: "…{{path}}…" }`, as `map` writes them. */
const mapValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.strictObject({ copy: fieldPath.describe('Copy the value at this path of the record.') }),
  z.strictObject({ template: z.string().min(1).describe('Render a string from the record, e.g. "acme:{{call_id}}".') }),
]);

const auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic').describe('HTTP Basic auth.'), username: z.string().min(1).describe('Basic auth user.'), password: secret('Basic auth password (redacted from logs).') }),
  z.strictObject({ type: z.literal('bearer').describe('A bearer token.'), token: secret('Sent as `Authorization: Bearer <token>` (redacted from logs).') }),
  z.strictObject({
    type: z.literal('api_key').describe('An API key in a header or a query parameter.'),
    in: z.enum(['header', 'query']).default('header').describe('Where the key goes: a header, or a query parameter.'),
    name: z.string().min(1).describe('The header or query parameter name, e.g. X-API-Key or api_key.'),
    value: secret('The key (redacted from logs).'),
  }),
  z.strictObject({
    type: z.literal('signed').describe('Signed by the signer of a source type made with `defineHttpSource({ sign })`.'),
    params: z.record(z.string(), secret('A parameter of the signer (redacted from logs).')).default({}).describe('What the signer of a source made with `defineHttpSource({ sign })` needs (keys, secrets).'),
  }),
]);

const pageSize = z.int().min(1).max(100_000);
const endOn = z.enum(['short', 'empty']).default('short').describe('Without `total`: the listing ends at a page with fewer records than `limit` (short) or only at an empty page (empty: for servers that cap the page below `limit`).');
const pagination = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none').describe('One request per range: the response holds every record.') }),
  z.strictObject({
    type: z.literal('offset').describe('`{{offset}}`/`{{limit}}`: the offset advances by the records that came back.'),
    limit: pageSize.default(100).describe('Records asked for per page ({{limit}}).'),
    total: recordPath.optional().describe('Path to the total number of records in the body; read again on every page (a total that grows is followed).'),
    end_on: endOn,
  }),
  z.strictObject({
    type: z.literal('page').describe('`{{page}}`/`{{limit}}`: page numbers.'),
    limit: pageSize.default(100).describe('Records per page ({{limit}}).'),
    first_page: z.int().min(0).default(1).describe('The number of the first page (0 or 1).'),
    total: recordPath.optional().describe('Path to the total number of records in the body.'),
    total_pages: recordPath.optional().describe('Path to the number of pages in the body.'),
    end_on: endOn,
  }),
  z.strictObject({
    type: z.literal('cursor').describe('`{{cursor}}`: the next page\'s token, read from the body; the listing ends when it is absent, null or "".'),
    next: recordPath.describe('Path to the next token in the body, e.g. meta.next_cursor.'),
  }),
  z.strictObject({ type: z.literal('link').describe('RFC 8288 `Link: <…>; rel="next"`: the next page is the URL the server names (same origin); the listing ends without one.') }),
]);

const mapping = z.strictObject({
  id: mapValue.describe('The event id: stable across polls and unique (e.g. { template: "acme:{{call_id}}" }).'),
  time: mapValue.describe('When it happened, read with `time_format`.'),
  end_time: mapValue.optional().describe('When it ended, read with `time_format`.'),
  time_format: z.enum(['iso', 'unix', 'unix_ms']).default('iso').describe('How `time`/`end_time` are written: ISO-8601 (without an offset: wall-clock time in `time_zone`; "2026-11-20 10:00:00" too), UNIX seconds or milliseconds.'),
  time_zone: z.string().default('UTC').refine(isTimeZone, 'not an IANA time zone (e.g. America/New_York)').describe('Zone of times without an offset.'),
  kind: mapValue.default('call').describe('The event kind (call, session, …).'),
  direction: mapValue.optional().describe('inbound or outbound; anything else is left out (and kept under attributes).'),
  from: mapValue.optional().describe('The calling party.'),
  to: mapValue.optional().describe('The called party.'),
  duration_sec: mapValue.optional().describe('Duration in seconds (a number or numeric text).'),
  source: z.string().min(1).default('http').describe('The event\'s `source`.'),
  attributes: z.enum(['rest', 'all', 'none']).default('rest').describe('What goes under attributes: the record\'s top-level fields not copied above (rest), all of them, or none.'),
});

const instant = z.union([z.int().min(0), z.iso.datetime({ offset: true })]).describe('ISO-8601 (e.g. 2026-11-20T00:00:00Z) or UNIX seconds.');

function isHttpUrl(template: string): boolean {
  try {
    return /^https?:$/.test(new URL(template.replace(VAR_RE, 'x')).protocol);
  } catch {
    return false;
  }
}

const fields = z
  .strictObject({
    url: requestTemplate('The request URL, a template: {{from}} {{to}} (the range, or {{from}} the cursor value), {{cursor}} (the next-page token), {{page}}, {{offset}}, {{limit}}; values are URL-encoded.').refine(isHttpUrl, 'expected an http(s) URL, e.g. https://api.example.com/v1/calls?since={{from}}')
      .meta({ examples: ['https://api.example.com/v1/calls?from={{from}}&to={{to}}'] }),
    method: z.enum(['GET', 'POST']).default('GET').describe('The request method.'),
    query: z.record(z.string(), requestTemplate('A query value template')).default({}).describe('Query parameters, each a template; one that renders empty (no cursor on the first page) is left out.'),
    headers: z.record(z.string(), requestTemplate('A header value template')).default({}).describe('Request headers, each a template.'),
    body: requestTemplate('The request body (POST), a template; values are inserted JSON-escaped.').optional(),
    auth: auth.optional().describe('basic, bearer, api_key (header or query) or signed (a signer plugin).'),
    ...accountsFields({ auth: auth.optional().describe('This account\'s auth.') }),
    format: z.enum(['json', 'xml']).default('json').describe('The body\'s format (Accept is set to it unless `headers` names one).'),
    records: recordPath.default('').describe('Path to the list of records in the body (XML: from the root element, e.g. response.calls.call); "" when the body is the list.'),
    pagination: pagination.default({ type: 'none' }).describe('How the next page is asked for: none, offset, page, cursor, link.'),
    map: mapping.meta({ examples: [{ id: { copy: 'id' }, time: { copy: 'started_at' } }] }).describe('How a record becomes an event: id, time and the rest, each a literal, { copy: path } or { template: "…" }. A record that is a value (a log line) is read as { value: … }.'),
    time_format: z.enum(['iso', 'unix', 'unix_ms']).default('iso').describe('How {{from}} and {{to}} are written into the request.'),
    start: instant.optional().describe('Start of the first range (time ranges).'),
    end: instant.optional().describe('End of the range (exclusive). Absent: now, and keep polling.'),
    backfill: duration('How far back the first run starts (alternative to start), e.g. 2d.').optional(),
    lateness: duration('How long after its time a record may first be listed; each poll reads the last `lateness` again and delivers only records it did not deliver before (their ids are kept in the checkpoint).', '0s'),
    cursor_field: fieldPath.optional().describe('Instead of time ranges: a monotonic field of the records (an id, an update time); each poll asks from the largest value delivered ({{from}}), and records at that value delivered before are not delivered again.'),
    cursor_start: z.union([z.string(), z.number()]).optional().describe('With cursor_field: {{from}} of the first poll (default: empty).'),
    poll_interval: duration('Time between polls.', '60s'),
    rate_limit: z
      .strictObject({ requests: z.int().min(1).describe('Requests allowed…'), per: duration('…per this time.', '1s') })
      .optional()
      .describe('At most so many requests per time, across the source (every account).'),
    request_timeout: duration('Timeout of one request (headers and body).', '30s'),
    max_retries: z.int().min(0).max(100).default(5).describe('Retries of a request that failed with 429, 5xx, a timeout, a reset or an unreadable body, before the range is tried again from its last acknowledged page.'),
    max_retry_duration: duration('How long a range that keeps failing for a reason that may pass is tried again before the source fails. Absent: without limit when polling, 5m for a bounded run (--once, end).').optional(),
    include_raw: z.boolean().default(false).describe('Keep the record under `raw`.'),
  });

/**
 * The config schema of an `http` source; `signed`: whether its plugin has a signer (so that
 * `auth: { type: signed }` is accepted).
 */
export function httpConfigSchema(signed: boolean) {
  return fields.superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (c.accounts) for (const p of accountsProblems(c, ['auth'])) issue([p.path], p.message);
    const used = new Set<string>();
    for (const t of [c.url, c.body ?? '', ...Object.values(c.query), ...Object.values(c.headers)]) for (const v of requestVarsOf(t)) used.add(v);
    const p = c.pagination;
    const needs: Record<string, string[]> = { offset: ['offset'], page: ['page'], cursor: ['cursor'], link: [], none: [] };
    for (const v of needs[p.type]!) if (!used.has(v)) issue(['pagination'], `pagination ${p.type} needs {{${v}}} in url, query, headers or body: put it where the API takes it (e.g. query: { ${v}: "{{${v}}}" })`);
    for (const [v, types] of [['offset', ['offset']], ['page', ['page']], ['cursor', ['cursor']], ['limit', ['offset', 'page']]] as const) {
      if (used.has(v) && !(types as readonly string[]).includes(p.type)) issue(['pagination'], `{{${v}}} is used but pagination is ${p.type}: set pagination.type to ${types.join(' or ')}, or remove {{${v}}}`);
    }
    if (p.type === 'page' && p.total !== undefined && p.total_pages !== undefined) issue(['pagination', 'total_pages'], 'give total or total_pages, not both');
    if ((p.type === 'offset' || p.type === 'page') && !used.has('limit')) {
      if (p.type === 'page' && p.total !== undefined) issue(['pagination', 'total'], 'pages are counted from total with limit, but the request does not send {{limit}}: put {{limit}} where the API takes the page size, or use total_pages');
      else if (p.total === undefined && (p.type === 'offset' || p.total_pages === undefined) && p.end_on === 'short') issue(['pagination', 'end_on'], 'without {{limit}} in the request the server chooses the page size, so a short page does not mean the end: put {{limit}} where the API takes it, give total, or set end_on: empty');
    }
    if (c.method === 'GET' && c.body !== undefined) issue(['body'], 'a GET request has no body: set method: POST, or move the values into query');
    if (c.start !== undefined && c.backfill !== undefined) issue(['backfill'], 'give either start or backfill, not both');
    const s = c.start === undefined ? undefined : toEpochSec(c.start);
    const e = c.end === undefined ? undefined : toEpochSec(c.end);
    if (s !== undefined && e !== undefined && e <= s) issue(['end'], 'end must be after start');
    if (c.cursor_field !== undefined) {
      for (const k of ['start', 'end', 'backfill'] as const) if (c[k] !== undefined) issue([k], `${k} is for time ranges; with cursor_field the first poll starts at cursor_start: remove ${k}, or remove cursor_field`);
      if (used.has('to')) issue(['cursor_field'], 'with cursor_field there is no {{to}} (polls ask from the cursor on): remove {{to}}, or remove cursor_field to read time ranges');
      if (!used.has('from')) issue(['cursor_field'], 'with cursor_field the request must carry the cursor: put {{from}} where the API takes it (e.g. query: { since: "{{from}}" })');
    } else {
      if (c.cursor_start !== undefined) issue(['cursor_start'], 'cursor_start needs cursor_field: set cursor_field, or use start for time ranges');
      if (!used.has('from')) issue(['url'], 'the request never names {{from}}: every poll would read the same listing again. Put {{from}} (and {{to}}) where the API takes the range, or set cursor_field');
    }
    const auths = [c.auth, ...(c.accounts ?? []).map((a) => a.auth)];
    if (!signed && auths.some((a) => a?.type === 'signed')) issue(['auth', 'type'], 'auth type signed needs a signer: use the source type of a signing plugin (made with defineHttpSource({ sign })), or basic, bearer or api_key');
  });
}

/** The config schema of the `http` source. */
export const httpSourceConfigSchema = httpConfigSchema(false);

/** The `http` source's config, validated. */
export type HttpSourceConfig = z.output<typeof httpSourceConfigSchema>;
export type HttpAuth = z.output<typeof auth>;
export type HttpPagination = z.output<typeof pagination>;
export type HttpMapping = z.output<typeof mapping>;
export type MapValue = z.output<typeof mapValue>;

export function toEpochSec(v: number | string): number {
  return typeof v === 'number' ? v : Math.floor(Date.parse(v) / 1000);
}
