import { VendorApiError, type VendorApiErrorOptions } from '@plumline/core/sources';

/**
 * An error of the `http` source (core's vendor error shape: `status`, `path`, `retryAfterMs`). Codes:
 * - `HTTP_SOURCE_STATUS` — 429 or 5xx (retried, honouring Retry-After), or another status that
 *   says the request itself is wrong (401, 403, 404, …: not retried, the source stops with it).
 * - `HTTP_SOURCE_BAD_BODY` — a body that does not parse, or lacks the records or the total at the
 *   configured path (an HTML error page, a truncated body): a fault, retried, never dropped.
 * - `HTTP_SOURCE_TIMEOUT` / `HTTP_SOURCE_CONNECTION` — the request did not complete; retried.
 * - `HTTP_SOURCE_SHORT_LISTING` — the listing stayed short of its own total after asking again; retried as a range.
 * - `HTTP_SOURCE_BAD_LINK` — a `Link: rel="next"` that points to another origin; not retried.
 * - `HTTP_SOURCE_UNMAPPED` — a record that does not become an event (dead-lettered with its reason).
 */
export class HttpSourceError extends VendorApiError {
  constructor(
    code: 'HTTP_SOURCE_STATUS' | 'HTTP_SOURCE_BAD_BODY' | 'HTTP_SOURCE_TIMEOUT' | 'HTTP_SOURCE_CONNECTION' | 'HTTP_SOURCE_SHORT_LISTING' | 'HTTP_SOURCE_BAD_LINK' | 'HTTP_SOURCE_UNMAPPED',
    message: string,
    options: VendorApiErrorOptions,
  ) {
    super(code, message, options);
  }
}
