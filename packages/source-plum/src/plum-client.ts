import { VendorHttpClient, type VendorClientOptions } from '@plumline/core/sources';
import { decodeEnvelope, listOf, totalOf, unescapeSlashes, type PlumFormat, type PlumLogDetail, type PlumLogRow } from './plum-envelope.js';
import { PlumApiError } from './plum-errors.js';

/** Options of the Plum Call Log API client: core's vendor client options and a Basic-auth login. */
export interface PlumClientOptions extends VendorClientOptions {
  username: string;
  password: string;
  format: PlumFormat;
}

export interface ListQuery {
  number?: string;
  offset: number;
  limit: number;
}


/**
 * A client of Plum DEV's Call Log REST API: Basic auth, JSON or XML, over core's vendor HTTP
 * client (one keep-alive pool; 429, 5xx, timeouts and unreadable bodies retried with backoff,
 * honouring Retry-After). A bad login fails at once.
 */
export class PlumClient {
  private readonly http: VendorHttpClient;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: PlumClientOptions) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.headers = {
      authorization: `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`,
      accept: options.format === 'xml' ? 'application/xml' : 'application/json',
    };
    // The login stays out of the shared client's options: it needs only the headers made above.
    const { username: _u, password: _p, format: _f, ...client } = options;
    this.http = new VendorHttpClient({
      ...client,
      vendor: 'Plum',
      failure: (f, path) =>
        f.kind === 'status'
          ? new PlumApiError('PLUM_HTTP_STATUS', f.message, { retriable: true, status: f.status, path, retryAfterMs: f.retryAfterMs })
          : new PlumApiError(f.kind === 'timeout' ? 'PLUM_TIMEOUT' : 'PLUM_CONNECTION', f.message, { retriable: true, path, cause: f.cause }),
    });
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
    return { ...result, log: unescapeSlashes(String(result.log ?? '')), location: String(result.location ?? '') };
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
  get(path: string): Promise<Record<string, unknown> | undefined> {
    const service = path.split('/').slice(-3, -2)[0] ?? '';
    return this.http.request(
      () => ({ path, method: 'GET', headers: this.headers, name: `plum GET ${service}`, attributes: { service } }),
      (res) => this.result(res.status, res.body, path, res.contentType),
    );
  }

  /** The envelope's result, or the error the response means (a bad login, a failure envelope, an unreadable body). */
  private result(status: number, body: string, path: string, contentType?: string): Record<string, unknown> | undefined {
    let envelope;
    try {
      envelope = decodeEnvelope(body, this.options.format, path);
    } catch (err) {
      if (status === 401 || status === 403) throw new PlumApiError('PLUM_AUTH_FAILED', `Plum refused the login for user "${this.options.username}" (HTTP ${status}): check username and password`, { retriable: false, status, path });
      if (status >= 400) throw new PlumApiError('PLUM_API_FAILURE', `Plum answered ${status} to ${path}`, { retriable: false, status, path });
      // Retriable (PLUM_BAD_BODY): a proxy's page or a cut answer passes; say which it looks like.
      if (contentType === 'text/html') throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} is an HTML page (${body.length} bytes), not the API's answer: a proxy in between?`, { retriable: true, status, path, cause: err });
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
    return this.http.close();
  }
}
