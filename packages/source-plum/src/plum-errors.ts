import { PipelineError } from '@plumline/core';

/**
 * An error talking to the Plum API. Codes:
 * - `PLUM_AUTH_FAILED` — bad login (401/403 or an "unauthorized" failure envelope); not retried.
 * - `PLUM_API_FAILURE` — the API answered with a failure envelope (bad range, bad parameter); not retried.
 * - `PLUM_HTTP_STATUS` — 429 or 5xx; retried with backoff, honouring Retry-After.
 * - `PLUM_BAD_BODY` — a body we cannot read (a proxy's HTML page, truncated or malformed JSON/XML); retried like a 5xx, the range read again without end in a daemon; never dead-lettered.
 * - `PLUM_TIMEOUT` / `PLUM_CONNECTION` — the request did not complete; retried.
 */
export class PlumApiError extends PipelineError {
  constructor(
    code: 'PLUM_AUTH_FAILED' | 'PLUM_API_FAILURE' | 'PLUM_HTTP_STATUS' | 'PLUM_BAD_BODY' | 'PLUM_TIMEOUT' | 'PLUM_CONNECTION' | 'PLUM_SHORT_LISTING',
    message: string,
    options: { retriable: boolean; cause?: unknown; status?: number; path?: string; retryAfterMs?: number; fields?: Record<string, unknown> },
  ) {
    super(code, message, { retriable: options.retriable, cause: options.cause, fields: { ...options.fields, status: options.status, path: options.path, retryAfterMs: options.retryAfterMs } });
  }

  get retryAfterMs(): number | undefined {
    return this.fields.retryAfterMs as number | undefined;
  }

  get path(): string | undefined {
    return this.fields.path as string | undefined;
  }
}
