import type { CallEvent, Clock, DeadLetter, Logger } from '@plumline/core';
import type { VendorHttpClient } from '@plumline/core/sources';
import { backoffDelayMs } from '@plumline/core/util';
import { countAt, decodeBody, recordsAt, valueAt } from './http-body.js';
import { nextLink, type HttpRequestBuilder, type RequestVars } from './http-request.js';
import type { HttpSourceConfig } from './http-source-config.js';
import { HttpSourceError } from './http-source-errors.js';
import type { Mapped } from './record-mapping.js';

/**
 * Where a listing stands: the next page to ask for (an offset, a page number, a token, the URL a
 * Link header named), or `done`. `{}` is the first page. A page carries the position after it,
 * so that a restart asks for the next page, not the listing's first.
 */
export interface ListingPosition {
  offset?: number;
  page?: number;
  cursor?: string;
  url?: string;
  done?: true;
}

/** One page of a listing: what it delivers, and the position after it. */
export interface ListingPage {
  events: CallEvent[];
  /** The record each event came from (the cursor mode reads its `cursor_field`). */
  records: unknown[];
  dead: DeadLetter[];
  position: ListingPosition;
}

/** What reading a listing needs. */
export interface ListingReader {
  http: VendorHttpClient;
  builder: HttpRequestBuilder;
  c: HttpSourceConfig;
  map: (record: unknown) => Mapped;
  /** Waits for a turn under `rate_limit`. */
  turn: () => Promise<void>;
  /** Whether `pagination.next` was ever in a response, and whether its absence was told (once). */
  paging: { nextSeen: boolean; warned: boolean };
  logger: Logger;
  signal: AbortSignal;
  /** The component's clock: request times (signatures) and the waits between empty pages. */
  clock: Clock;
}

interface Response_ {
  doc: unknown;
  link: string | string[] | undefined;
}

/** Sends one page's request; a status that retrying cannot fix stops with what to check. */
function fetchPage(r: ListingReader, url: URL, vars: RequestVars): Promise<Response_> {
  const where = r.builder.display(url);
  return r.http.request(
    () => {
      const req = r.builder.build(url, vars, r.clock.now());
      return { path: `${req.url.pathname}${req.url.search}`, method: req.method, headers: req.headers, body: req.body, name: `http ${req.method}`, display: r.builder.display(req.url), attributes: { path: req.url.pathname } };
    },
    (res) => {
      if (res.status === 408 || res.status === 425) throw new HttpSourceError('HTTP_SOURCE_STATUS', `the server answered ${res.status} to ${where}`, { retriable: true, status: res.status, path: where });
      if (res.status >= 400) {
        const hint = res.status === 401 || res.status === 403 ? ': check auth (the credentials, or the key\'s permissions)' : res.status === 404 ? ': check url' : '';
        throw new HttpSourceError('HTTP_SOURCE_STATUS', `the server answered ${res.status} to ${where}${hint}`, { retriable: false, status: res.status, path: where });
      }
      return { doc: decodeBody(res.body, r.c.format, r.c.records, where), link: res.headers.link };
    },
  );
}

/** The position after a page of `count` records when the listing says how many there are (`pages`, counted from 0) or not. */
function advance(count: number, index: number, pages: number | undefined, limit: number, endOn: 'short' | 'empty'): 'done' | 'next' {
  if (pages !== undefined) return index + 1 >= pages ? 'done' : 'next';
  return count === 0 || (endOn === 'short' && count < limit) ? 'done' : 'next';
}

/**
 * Reads one listing (one range, or one poll from a cursor value) page by page from `resume`.
 * An empty page before the listing's own total is asked for again (`max_retries` times, with
 * backoff); if it stays empty the listing fails retriably — its range is read again later, from
 * the last acknowledged page — rather than skip what is missing. A record listed twice in one
 * listing (a page served again as the total moved) is delivered once.
 */
export async function* readListing(r: ListingReader, range: Pick<RequestVars, 'from' | 'to'>, resume: ListingPosition | undefined): AsyncGenerator<ListingPage> {
  const p = r.c.pagination;
  let pos: ListingPosition = resume ?? {};
  const delivered = new Set<string>();
  let emptyRetries = 0;
  while (!pos.done && !r.signal.aborted) {
    const limit = p.type === 'offset' || p.type === 'page' ? p.limit : undefined;
    const offset = pos.offset ?? 0;
    const page = pos.page ?? (p.type === 'page' ? p.first_page : 0);
    const vars: RequestVars = { ...range, offset: String(offset), page: String(page), cursor: pos.cursor ?? '', limit: limit === undefined ? '' : String(limit) };
    const url = pos.url ? new URL(pos.url) : r.builder.firstUrl(vars);
    await r.turn();
    const res = await fetchPage(r, url, vars);
    const where = r.builder.display(url);
    const records = recordsAt(res.doc, r.c.records, r.c.format, where);
    let next: ListingPosition;
    if (p.type === 'none') next = { done: true };
    else if (p.type === 'offset' || p.type === 'page') {
      const total = p.total === undefined ? undefined : countAt(res.doc, p.total, where);
      const pages = p.type === 'page' && p.total_pages !== undefined ? countAt(res.doc, p.total_pages, where) : total === undefined ? undefined : Math.ceil(total / p.limit);
      const index = p.type === 'offset' ? Math.ceil(offset / p.limit) : page - p.first_page;
      const before = p.type === 'offset' ? total !== undefined && offset < total : pages !== undefined && index < pages;
      if (records.length === 0 && before) {
        // Short of the listing's own total: ask again; never skip to the end.
        if (++emptyRetries <= r.c.max_retries) {
          r.logger.warn({ offset, page, total, attempt: emptyRetries }, 'the server returned an empty page before its reported total; asking again');
          await r.clock.sleep(backoffDelayMs(emptyRetries), r.signal).catch(() => {});
          continue;
        }
        throw new HttpSourceError('HTTP_SOURCE_SHORT_LISTING', `the server listed fewer records than the total it reported (${total ?? `${pages} pages`}) for ${where}: the rest never came`, { retriable: true, path: where, fields: { offset, page, total, pages } });
      }
      if (p.type === 'offset') {
        // By what came back: a server may return fewer records than `limit`.
        const after = offset + records.length;
        next = records.length === 0 || (total !== undefined ? after >= total : advance(records.length, 0, undefined, p.limit, p.end_on) === 'done') ? { done: true } : { offset: after };
      } else next = advance(records.length, index, pages, p.limit, p.end_on) === 'done' ? { done: true } : { page: page + 1 };
    } else if (p.type === 'cursor') {
      const token = valueAt(res.doc, p.next);
      if (token !== undefined) r.paging.nextSeen = true;
      else if (records.length > 0) warnNextNeverSeen(r, res.doc, p.next, where);
      const t = token === undefined || token === null || token === '' ? undefined : String(token);
      if (t !== undefined && t === pos.cursor) r.logger.warn({ cursor: t }, 'the server gave the cursor it was asked with as the next one: the listing ends here');
      next = t === undefined || t === pos.cursor ? { done: true } : { cursor: t };
    } else {
      const link = nextLink(res.link, url);
      if (link && link.origin !== url.origin) throw new HttpSourceError('HTTP_SOURCE_BAD_LINK', `the Link header of ${where} points to another origin (${link.origin}): credentials are sent to the url's origin only`, { retriable: false, path: where });
      next = link ? { url: r.builder.stored(link) } : { done: true };
    }
    emptyRetries = 0;
    yield { ...mapPage(r, records, delivered, where), position: next };
    pos = next;
  }
}

/**
 * A next-token path that no response has held yet, on a page with records: most likely a typo
 * (a path that is never there ends every listing after its first page, and the checkpoint then
 * moves past the rest). It may also be an API that leaves the key out on a last page, so this
 * warns once, naming the keys the response has where the path was looked for.
 */
function warnNextNeverSeen(r: ListingReader, doc: unknown, path: string, where: string): void {
  if (r.paging.nextSeen || r.paging.warned) return;
  r.paging.warned = true;
  const parent = path.includes('.') ? valueAt(doc, path.slice(0, path.lastIndexOf('.'))) : doc;
  const keys = parent !== null && typeof parent === 'object' && !Array.isArray(parent) ? Object.keys(parent).slice(0, 12) : [];
  r.logger.warn(
    { code: 'HTTP_SOURCE_NEXT_NOT_FOUND', path, keys, request: where },
    `pagination.next "${path}" is not in the response${keys.length ? ` (keys there: ${keys.join(', ')})` : ''}: this listing ends at its first page. If the API pages with a token, correct the path; otherwise ignore this (told once)`,
  );
}

function mapPage(r: ListingReader, records: unknown[], delivered: Set<string>, where: string): Omit<ListingPage, 'position'> {
  const events: CallEvent[] = [];
  const from: unknown[] = [];
  const dead: DeadLetter[] = [];
  for (const record of records) {
    const m = r.map(record);
    if ('problem' in m) dead.push({ code: 'HTTP_SOURCE_UNMAPPED', reason: m.problem, record, context: { path: where } });
    else if (!delivered.has(m.event.id)) {
      delivered.add(m.event.id);
      events.push(m.event);
      from.push(record);
    }
  }
  return { events, records: from, dead };
}
