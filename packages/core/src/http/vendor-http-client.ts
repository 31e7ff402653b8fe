import type { Pool } from 'undici';
import { isPlumlineError, type PlumlineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PluginTelemetry } from '../telemetry.js';
import { parseRetryAfter, retryWithBackoff } from '../util/retry.js';
import type { Clock } from '../util/clock.js';
import type { HttpHost } from './http-host.js';

/** What a vendor client's errors must carry for the shared client to retry them. */
export type VendorError = PlumlineError & { readonly retryAfterMs?: number };

/** The failures every vendor API shares; each client names them with its own codes. */
export type TransportFailure =
  | { kind: 'timeout'; message: string; cause: unknown }
  | { kind: 'connection'; message: string; cause: unknown }
  /** 429 or 5xx: may pass. */
  | { kind: 'status'; message: string; status: number; retryAfterMs: number | undefined; body: string };

/**
 * What every vendor API client takes (Plum's, iPlum's, the generic `http` source's): where the API
 * is, how long and how often to try, and where to report. Each client extends it with its
 * credentials; {@link vendorClientOptions} fills it from a polling source's config.
 */
export interface VendorClientOptions {
  /** The API's base URL; request paths are absolute (the caller prefixes the base path). */
  baseUrl: string;
  /** Keep-alive connections to the server. */
  connections: number;
  /** Timeout for the headers, then again for the body, of one attempt. */
  requestTimeoutMs: number;
  /**
   * Retries after the first attempt, for errors that say they are retriable; a function is asked
   * at each request (an account whose reads fail and are tried again as a whole retries no request).
   */
  maxRetries: number | (() => number);
  logger: Logger;
  telemetry?: PluginTelemetry;
  signal?: AbortSignal;
  /**
   * A host shared with other clients (the accounts of one source): its pool and request budget
   * are used instead of a pool of this client's own (`connections` is then ignored), and a 429
   * pauses every client of the host. The host's owner closes it.
   */
  host?: HttpHost;
  /** Times the waits between retries (`ctx.clock`). Default: the system clock. */
  clock?: Clock;
}

/** The config fields a polling vendor source names its client options with. */
export interface VendorClientConfig {
  base_url: string;
  request_timeout: number;
  max_retries: number;
  /** Parallel requests of one poll (details, content): the pool gets one connection more, for the listing. */
  concurrency: number;
}

/**
 * A polling source's client options from its config and context, and what its accounts share: the
 * host (one pool, one budget), and the account's turn — while the account is failing its requests
 * are not retried (the part's backoff is its retry).
 */
export function vendorClientOptions(c: VendorClientConfig, ctx: { logger: Logger; telemetry?: PluginTelemetry; signal?: AbortSignal; clock?: Clock }, shared: { host?: HttpHost; turn?: { readonly failing: boolean } } = {}): VendorClientOptions {
  const turn = shared.turn;
  return { baseUrl: c.base_url, requestTimeoutMs: c.request_timeout, maxRetries: turn ? () => (turn.failing ? 0 : c.max_retries) : c.max_retries, connections: c.concurrency + 1, logger: ctx.logger, telemetry: ctx.telemetry, signal: ctx.signal, host: shared.host, clock: ctx.clock };
}

/** Options of {@link VendorHttpClient}. */
export interface VendorHttpClientOptions extends VendorClientOptions {
  /** Names the API in log lines (`Plum request failed; retrying`). */
  vendor: string;
  /** Turns a transport failure into the client's own (retriable) error with its code. */
  failure: (f: TransportFailure, path: string) => VendorError;
}

/** One attempt of a request, built afresh for each (a signature may depend on the time). */
export interface VendorRequest {
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Span name, e.g. `plum GET logs`. */
  name: string;
  /** How messages name the request (e.g. the endpoint without the base path). Default: `path`. */
  display?: string;
  attributes?: Record<string, string>;
}

/** A response the transport accepted (not 429 or 5xx), for the vendor client to read. */
export interface VendorResponse {
  status: number;
  body: string;
  /** The response headers, names in lower case (undici's). The generic `http` source reads `link`. */
  headers: Record<string, string | string[] | undefined>;
  /** The media type (`content-type` without parameters, lower case), when the server said one. */
  contentType?: string;
}

/** undici's codes for a response that did not come in time (HeadersTimeoutError, BodyTimeoutError). */
const TIMEOUT_CODES = new Set<unknown>(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The HTTP part both vendor clients share: a keep-alive undici pool, timeouts, a span per
 * attempt, retries of what may pass (timeouts, connection errors, 429 and 5xx, and any error the
 * caller's `read` marks retriable) with backoff and jitter that honours Retry-After, a warning
 * and a counted retry per attempt, and an idempotent close. What a response means (envelopes,
 * logins, vendor error codes) stays with each client's `read`.
 */
export class VendorHttpClient {
  /** Made at the first request: undici costs ≈ 80 ms and 20 MB to import, which `validate` never needs. */
  private pool: Promise<Pool> | undefined;
  private readonly origin: string;
  private closed: Promise<void> | undefined;

  constructor(private readonly o: VendorHttpClientOptions) {
    this.origin = new URL(o.baseUrl).origin;
  }

  /** Sends the request `build` makes, reads the response with `read`, and retries what may pass. */
  request<T>(build: () => VendorRequest, read: (response: VendorResponse, path: string) => T): Promise<T> {
    let path = '';
    return retryWithBackoff(
      async () => {
        const req = build();
        // Log lines name the request as `display` does: a path may hold a key in its query.
        path = req.display ?? req.path;
        try {
          return read(await this.once(req), req.path);
        } catch (err) {
          // An error the client did not name is still a failed request: retried, with its code.
          if (isPlumlineError(err)) throw err;
          throw this.o.failure({ kind: 'connection', message: `request to ${req.display ?? req.path} failed: ${(err as Error)?.message ?? String(err)}`, cause: err }, req.path);
        }
      },
      {
        maxRetries: typeof this.o.maxRetries === 'function' ? this.o.maxRetries() : this.o.maxRetries,
        signal: this.o.signal,
        ...(this.o.clock ? { clock: this.o.clock } : {}),
        retryAfterMs: (e) => (e as VendorError).retryAfterMs,
        onRetry: (e, attempt, delayMs) => {
          this.o.telemetry?.retry(e);
          this.o.logger.warn({ code: (e as VendorError).code, status: (e as VendorError).fields?.status, path, attempt, delayMs }, `${this.o.vendor} request failed; retrying`);
        },
      },
    );
  }

  private async once(req: VendorRequest): Promise<VendorResponse> {
    const end = this.o.telemetry?.startRequest(req.name, req.attributes ?? {});
    let failure: unknown;
    let status: number;
    let body: string;
    let headers: Record<string, string | string[] | undefined>;
    try {
      await this.o.host?.permit(this.o.signal);
      const res = await (await this.poolForRequest()).request({ path: req.path, method: req.method, headers: req.headers, body: req.body, headersTimeout: this.o.requestTimeoutMs, bodyTimeout: this.o.requestTimeoutMs, signal: this.o.signal });
      status = res.statusCode;
      headers = res.headers;
      body = await res.body.text();
    } catch (err) {
      failure = err;
      const timedOut = typeof err === 'object' && err !== null && TIMEOUT_CODES.has((err as { code?: unknown }).code);
      throw this.o.failure(
        timedOut ? { kind: 'timeout', message: `request to ${req.display ?? req.path} timed out after ${this.o.requestTimeoutMs} ms`, cause: err } : { kind: 'connection', message: `request to ${req.display ?? req.path} failed: ${(err as Error)?.message ?? String(err)}`, cause: err },
        req.path,
      );
    } finally {
      end?.(failure);
    }
    if (status === 429) this.o.host?.tooManyRequests(parseRetryAfter(headers['retry-after']));
    if (status === 429 || status >= 500) {
      throw this.o.failure({ kind: 'status', message: `${this.o.vendor} answered ${status} to ${req.display ?? req.path}`, status, retryAfterMs: parseRetryAfter(headers['retry-after']), body }, req.path);
    }
    const type = headers['content-type'];
    const contentType = typeof type === 'string' ? type.split(';')[0]!.trim().toLowerCase() : undefined;
    return contentType ? { status, body, headers, contentType } : { status, body, headers };
  }

  private poolForRequest(): Promise<Pool> {
    // A request after close fails as one on a closed pool would, instead of opening a new pool.
    if (this.closed && !this.pool) return Promise.reject(new Error('the HTTP client is closed'));
    if (this.o.host) return this.o.host.connections();
    return (this.pool ??= import('undici').then(({ Pool }) => new Pool(this.origin, { connections: this.o.connections, keepAliveTimeout: 30_000, pipelining: 1 })));
  }

  close(): Promise<void> {
    return (this.closed ??= this.pool ? this.pool.then((p) => p.close()) : Promise.resolve());
  }
}
