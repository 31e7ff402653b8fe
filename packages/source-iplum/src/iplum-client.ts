import { parseRetryAfter, retryWithBackoff, type Logger, type ComponentTelemetry } from '@plumline/core';
import { Pool, errors as undiciErrors } from 'undici';
import { IplumApiError } from './iplum-errors.js';
import { signedHeaders } from './iplum-signer.js';

export interface IplumClientOptions {
  baseUrl: string;
  accessKey: string;
  secretKey: string;
  username: string;
  version: string;
  requestTimeoutMs: number;
  maxRetries: number;
  connections: number;
  logger: Logger;
  telemetry?: ComponentTelemetry;
  signal?: AbortSignal;
  /** Clock for the signature epoch (tests). */
  now?: () => number;
}


/**
 * A client of iPlum's API: every request is a signed JSON POST; each attempt is signed afresh
 * (a new epoch), so a retried request is never refused as stale.
 */
export class IplumClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private closed: Promise<void> | undefined;

  constructor(private readonly o: IplumClientOptions) {
    const url = new URL(o.baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    this.pool = new Pool(url.origin, { connections: o.connections, keepAliveTimeout: 30_000 });
  }

  /**
   * POSTs `body` to `endpoint` (e.g. `/usage/getusage`) and returns the parsed JSON;
   * `acceptsText`: the endpoint returns a string, which may come bare rather than as JSON.
   */
  async post(endpoint: string, body: Record<string, unknown>, acceptsText = false): Promise<unknown> {
    // Each attempt signs afresh (a new epoch): a retried request is never refused as stale.
    return retryWithBackoff(
      () =>
        this.once(endpoint, body, acceptsText).catch((err: unknown) => {
          throw err instanceof IplumApiError ? err : new IplumApiError('IPLUM_CONNECTION', `request to ${endpoint} failed: ${(err as Error).message}`, { retriable: true, path: endpoint, cause: err });
        }),
      {
        maxRetries: this.o.maxRetries,
        signal: this.o.signal,
        retryAfterMs: (e) => (e as IplumApiError).retryAfterMs,
        onRetry: (e, attempt, delayMs) => {
          this.o.telemetry?.retry();
          this.o.logger.warn({ code: (e as IplumApiError).code, status: (e as IplumApiError).fields.status, path: endpoint, attempt, delayMs }, 'iPlum request failed; retrying');
        },
      },
    );
  }

  private async once(endpoint: string, body: Record<string, unknown>, acceptsText: boolean): Promise<unknown> {
    const path = `${this.basePath}${endpoint}`;
    const epoch = Math.floor((this.o.now ?? Date.now)() / 1000);
    const headers = signedHeaders({ method: 'POST', accessKey: this.o.accessKey, username: this.o.username, version: this.o.version, epoch, path }, this.o.secretKey);
    const end = this.o.telemetry?.startRequest(`iplum POST ${endpoint}`, { endpoint });
    let failure: unknown;
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await this.pool.request({ path, method: 'POST', headers, body: JSON.stringify(body), headersTimeout: this.o.requestTimeoutMs, bodyTimeout: this.o.requestTimeoutMs, signal: this.o.signal });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      text = await res.body.text();
    } catch (err) {
      failure = err;
      if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
        throw new IplumApiError('IPLUM_TIMEOUT', `request to ${endpoint} timed out after ${this.o.requestTimeoutMs} ms`, { retriable: true, path: endpoint, cause: err });
      }
      throw new IplumApiError('IPLUM_CONNECTION', `request to ${endpoint} failed: ${(err as Error).message}`, { retriable: true, path: endpoint, cause: err });
    } finally {
      end?.(failure);
    }
    let parsed: unknown;
    let json = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      json = false;
    }
    if (status === 429 || status >= 500) {
      // The vendor page documents an error body on 5xx: say what iPlum said.
      const e = (json && parsed && typeof parsed === 'object' ? parsed : {}) as { errorCode?: string; errorDescription?: string };
      const said = e.errorCode || e.errorDescription ? ` (${[e.errorCode, e.errorDescription].filter(Boolean).join(': ')})` : '';
      throw new IplumApiError('IPLUM_HTTP_STATUS', `iPlum answered ${status} to ${endpoint}${said}`, { retriable: true, status, path: endpoint, retryAfterMs: parseRetryAfter(retryAfter), errorCode: e.errorCode });
    }
    if (!json && status < 400) {
      // getcontent and getrecordingfile "return a string": the page shows it bare (Hello), not
      // as a JSON string ("Hello"). Accept both where a string is what is asked for.
      if (acceptsText) return text;
      throw new IplumApiError('IPLUM_BAD_BODY', `response to ${endpoint} is not valid JSON (${text.length} bytes)`, { retriable: true, path: endpoint });
    }
    if (status >= 400) {
      const e = (parsed ?? {}) as { errorCode?: string; errorDescription?: string };
      const desc = e.errorDescription ?? `HTTP ${status}`;
      if (status === 401 || status === 403) {
        throw new IplumApiError('IPLUM_AUTH_FAILED', `iPlum refused the request (HTTP ${status}): ${desc} — check access_key, secret_key and username`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
      }
      if (e.errorCode === 'ERR_INVALID_DATE') throw new IplumApiError('IPLUM_INVALID_DATE', `iPlum refused the date range: ${desc}`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
      if (e.errorCode === 'ERR_INVALID_REQUEST') throw new IplumApiError('IPLUM_INVALID_REQUEST', `iPlum refused the request: ${desc}`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
      throw new IplumApiError('IPLUM_API_ERROR', `iPlum answered ${status} to ${endpoint}: ${desc}`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
    }
    return parsed;
  }

  close(): Promise<void> {
    return (this.closed ??= this.pool.close());
  }
}
