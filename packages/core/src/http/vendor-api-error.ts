import { PipelineError } from '../errors.js';

/** What a vendor error carries beside its code and message. */
export interface VendorApiErrorOptions {
  retriable: boolean;
  cause?: unknown;
  /** The HTTP status the vendor answered, when it answered. */
  status?: number;
  /** The request, as messages may show it (never with a key in its query). */
  path?: string;
  /** The vendor's Retry-After, in ms (429, 503): the client waits at least this long. */
  retryAfterMs?: number;
  /** More structured detail (a stream, a range, the vendor's own error code). */
  fields?: Record<string, unknown>;
}

/**
 * The one shape of an error talking to a vendor's HTTP API (Plum, iPlum, the generic `http`
 * source): a stable code of the plugin's own, `retriable`, and the request's `status`, `path` and
 * `retryAfterMs` as fields, which the shared client reads to honour Retry-After. Each plugin
 * subclasses it only to name its codes (the constructor's code union, documented by its bullets,
 * is what docs/errors.md lists), so that the codes stay where the plugin raises them.
 */
export class VendorApiError extends PipelineError {
  constructor(code: string, message: string, options: VendorApiErrorOptions) {
    super(code, message, { retriable: options.retriable, cause: options.cause, fields: { ...options.fields, status: options.status, path: options.path, retryAfterMs: options.retryAfterMs } });
  }

  get status(): number | undefined {
    return this.fields.status as number | undefined;
  }

  get path(): string | undefined {
    return this.fields.path as string | undefined;
  }

  get retryAfterMs(): number | undefined {
    return this.fields.retryAfterMs as number | undefined;
  }
}
