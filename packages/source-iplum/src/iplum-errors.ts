import { VendorApiError, type VendorApiErrorOptions } from '@plumline/core/sources';

/**
 * An error talking to iPlum (core's vendor error shape: `status`, `path`, `retryAfterMs`, and
 * iPlum's own `errorCode` as a field). Codes:
 * - `IPLUM_AUTH_FAILED` — 401/403; not retried.
 * - `IPLUM_INVALID_REQUEST` — 400 ERR_INVALID_REQUEST; not retried (stops the source with the server's description).
 * - `IPLUM_INVALID_DATE` — 400 ERR_INVALID_DATE (a window over 5 days); not retried.
 * - `IPLUM_HTTP_STATUS` — 429 or 5xx; retried with backoff, honouring Retry-After.
 * - `IPLUM_BAD_BODY` — a body we cannot read (a proxy's HTML page, truncated JSON, not a list); retried like a 5xx, the window read again without end in a daemon; never dead-lettered.
 * - `IPLUM_TIMEOUT` / `IPLUM_CONNECTION` — retried.
 */
export class IplumApiError extends VendorApiError {
  constructor(
    code: 'IPLUM_AUTH_FAILED' | 'IPLUM_INVALID_REQUEST' | 'IPLUM_INVALID_DATE' | 'IPLUM_HTTP_STATUS' | 'IPLUM_BAD_BODY' | 'IPLUM_TIMEOUT' | 'IPLUM_CONNECTION' | 'IPLUM_API_ERROR',
    message: string,
    options: Omit<VendorApiErrorOptions, 'fields'> & { errorCode?: string },
  ) {
    const { errorCode, ...rest } = options;
    super(code, message, { ...rest, fields: { errorCode } });
  }
}
