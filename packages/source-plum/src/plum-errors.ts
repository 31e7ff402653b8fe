import { VendorApiError, type VendorApiErrorOptions } from '@plumline/core/sources';

/**
 * An error talking to the Plum API (core's vendor error shape: `status`, `path`, `retryAfterMs`). Codes:
 * - `PLUM_AUTH_FAILED` — bad login (401/403 or an "unauthorized" failure envelope); not retried.
 * - `PLUM_API_FAILURE` — the API answered with a failure envelope (bad range, bad parameter); not retried.
 * - `PLUM_HTTP_STATUS` — 429 or 5xx; retried with backoff, honouring Retry-After.
 * - `PLUM_BAD_BODY` — a body we cannot read (a proxy's HTML page, truncated or malformed JSON/XML); retried like a 5xx, the range read again without end in a daemon; never dead-lettered.
 * - `PLUM_TIMEOUT` / `PLUM_CONNECTION` — the request did not complete; retried.
 */
export class PlumApiError extends VendorApiError {
  constructor(code: 'PLUM_AUTH_FAILED' | 'PLUM_API_FAILURE' | 'PLUM_HTTP_STATUS' | 'PLUM_BAD_BODY' | 'PLUM_TIMEOUT' | 'PLUM_CONNECTION' | 'PLUM_SHORT_LISTING', message: string, options: VendorApiErrorOptions) {
    super(code, message, options);
  }
}
