import { parseRetryAfter, retryWithBackoff, type Logger, type ComponentTelemetry } from '@plumline/core';
import { Pool, errors as undiciErrors } from 'undici';
import { decodeEnvelope, listOf, totalOf, unescapeSlashes, type PlumFormat, type PlumLogDetail, type PlumLogRow } from './plum-envelope.js';
import { PlumApiError } from './plum-errors.js';

export interface PlumClientOptions {
  baseUrl: string;
  username: string;
  password: string;
  format: PlumFormat;
  requestTimeoutMs: number;
  /** Retries after the first attempt for retriable failures. */
  maxRetries: number;
  /** Keep-alive connections to the server. */
  connections: number;
  logger: Logger;
  telemetry?: ComponentTelemetry;
  signal?: AbortSignal;
}

export interface ListQuery {
  number?: string;
  offset: number;
  limit: number;
}


/**
 * A client of Plum DEV's Call Log REST API: Basic auth, JSON or XML, one keep-alive pool.
 * Retries 429, 5xx, timeouts and unreadable bodies with exponential backoff and jitter,
 * honouring Retry-After; a bad login fails at once.
 */
export class PlumClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authorization: string;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: PlumClientOptions) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.pool = new Pool(url.origin, { connections: options.connections, keepAliveTimeout: 30_000, pipelining: 1 });
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  }

  async listLogs(startSec: number, endSec: number, q: ListQuery): Promise<{ total: number; rows: PlumLogRow[] }> {
    const path = this.listPath('logs', startSec, endSec, q);
    const result = await this.get(path);
    return { total: totalOf(result, 'total_logs', path), rows: listOf(result, 'logs', 'log') as PlumLogRow[] };
  }

  async getLog(logId: string): Promise<PlumLogDetail> {
    const path = `${this.basePath}calls/log/${encodeURIComponent(logId)}`;
    const result = await this.get(path);
    if (!result) throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} has no result`, { retriable: true, path });
    const r = result as unknown as PlumLogDetail;
    return { ...r, log: unescapeSlashes(String(r.log ?? '')), location: String(r.location ?? '') };
  }

  async listSessions(startSec: number, endSec: number, q: ListQuery): Promise<{ total: number; lines: string[]; path: string }> {
    const path = this.listPath('sessions', startSec, endSec, q);
    const result = await this.get(path);
    return { total: totalOf(result, 'total_sessions', path), lines: (listOf(result, 'sessions', 'session') as string[]).map((l) => unescapeSlashes(String(l))), path };
  }

  async listErrors(startSec: number, endSec: number, q: ListQuery): Promise<{ total: number; lines: string[]; path: string }> {
    const path = this.listPath('errors', startSec, endSec, q);
    const result = await this.get(path);
    return { total: totalOf(result, 'total_errors', path), lines: (listOf(result, 'errors', 'error') as string[]).map((l) => unescapeSlashes(String(l))), path };
  }

  private listPath(service: 'logs' | 'sessions' | 'errors', startSec: number, endSec: number, q: ListQuery): string {
    const params = new URLSearchParams();
    if (q.number) params.set('number', q.number);
    params.set('offset', String(q.offset));
    params.set('limit', String(q.limit));
    return `${this.basePath}calls/${service}/${startSec}/${endSec}?${params}`;
  }

  /** GETs `path`, retrying what may succeed later; returns the envelope's result. */
  async get(path: string): Promise<Record<string, unknown> | undefined> {
    return retryWithBackoff(
      () =>
        this.once(path).catch((err: unknown) => {
          throw err instanceof PlumApiError ? err : new PlumApiError('PLUM_CONNECTION', `request to ${path} failed: ${(err as Error).message}`, { retriable: true, path, cause: err });
        }),
      {
        maxRetries: this.options.maxRetries,
        signal: this.options.signal,
        retryAfterMs: (e) => (e as PlumApiError).retryAfterMs,
        onRetry: (e, attempt, delayMs) => {
          this.options.telemetry?.retry();
          this.options.logger.warn({ code: (e as PlumApiError).code, status: (e as PlumApiError).fields.status, path, attempt, delayMs }, 'Plum request failed; retrying');
        },
      },
    );
  }

  private async once(path: string): Promise<Record<string, unknown> | undefined> {
    const service = path.split('/').slice(-3, -2)[0] ?? '';
    const end = this.options.telemetry?.startRequest(`plum GET ${service}`, { service });
    let failure: unknown;
    let status: number;
    let body: string;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await this.pool.request({
        path,
        method: 'GET',
        headers: { authorization: this.authorization, accept: this.options.format === 'xml' ? 'application/xml' : 'application/json' },
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
        signal: this.options.signal,
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      body = await res.body.text();
    } catch (err) {
      failure = err;
      if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
        throw new PlumApiError('PLUM_TIMEOUT', `request to ${path} timed out after ${this.options.requestTimeoutMs} ms`, { retriable: true, path, cause: err });
      }
      throw new PlumApiError('PLUM_CONNECTION', `request to ${path} failed: ${(err as Error).message}`, { retriable: true, path, cause: err });
    } finally {
      end?.(failure);
    }
    if (status === 429 || status >= 500) {
      throw new PlumApiError('PLUM_HTTP_STATUS', `Plum answered ${status} to ${path}`, { retriable: true, status, path, retryAfterMs: parseRetryAfter(retryAfter) });
    }
    let envelope;
    try {
      envelope = decodeEnvelope(body, this.options.format, path);
    } catch (err) {
      if (status === 401 || status === 403) throw new PlumApiError('PLUM_AUTH_FAILED', `Plum refused the login for user "${this.options.username}" (HTTP ${status}): check username and password`, { retriable: false, status, path });
      if (status >= 400) throw new PlumApiError('PLUM_API_FAILURE', `Plum answered ${status} to ${path}`, { retriable: false, status, path });
      throw err;
    }
    if (envelope.status !== 'success') {
      const unauthorized = status === 401 || status === 403 || /unauthori[sz]ed/i.test(envelope.error);
      if (unauthorized) {
        throw new PlumApiError('PLUM_AUTH_FAILED', `Plum refused the login for user "${this.options.username}": ${envelope.error || `HTTP ${status}`} — check username and password`, { retriable: false, status, path });
      }
      throw new PlumApiError('PLUM_API_FAILURE', `Plum failed ${path}: ${envelope.error || `status ${envelope.status}`}`, { retriable: false, status, path });
    }
    if (status >= 400) throw new PlumApiError('PLUM_API_FAILURE', `Plum answered ${status} to ${path}`, { retriable: false, status, path });
    return envelope.result;
  }

  close(): Promise<void> {
    return (this.closed ??= this.pool.close());
  }
}
