import { VendorHttpClient, type VendorClientOptions } from '@plumline/core/sources';
import { systemClock } from '@plumline/core/util';
import { IplumApiError } from './iplum-errors.js';
import { signedHeaders } from './iplum-signer.js';

/** Options of the iPlum API client: core's vendor client options and what signs a request. */
export interface IplumClientOptions extends VendorClientOptions {
  accessKey: string;
  secretKey: string;
  username: string;
  version: string;
  /** Clock for the signature epoch (tests). */
  now?: () => number;
}

/**
 * A client of iPlum's API over core's vendor HTTP client: every request is a signed JSON POST;
 * each attempt is signed afresh (a new epoch), so a retried request is never refused as stale.
 */
export class IplumClient {
  private readonly http: VendorHttpClient;
  private readonly basePath: string;

  constructor(private readonly o: IplumClientOptions) {
    this.basePath = new URL(o.baseUrl).pathname.replace(/\/$/, '');
    // The keys stay out of the shared client's options: each attempt is signed here.
    const { accessKey: _a, secretKey: _s, username: _u, version: _v, now: _n, ...client } = o;
    this.http = new VendorHttpClient({
      ...client,
      vendor: 'iPlum',
      failure: (f, path) => {
        const endpoint = path.slice(this.basePath.length);
        if (f.kind !== 'status') return new IplumApiError(f.kind === 'timeout' ? 'IPLUM_TIMEOUT' : 'IPLUM_CONNECTION', f.message, { retriable: true, path: endpoint, cause: f.cause });
        // The vendor page documents an error body on 5xx: say what iPlum said.
        const e = errorBody(f.body);
        const said = e.errorCode || e.errorDescription ? ` (${[e.errorCode, e.errorDescription].filter(Boolean).join(': ')})` : '';
        return new IplumApiError('IPLUM_HTTP_STATUS', `iPlum answered ${f.status} to ${endpoint}${said}`, { retriable: true, status: f.status, path: endpoint, retryAfterMs: f.retryAfterMs, errorCode: e.errorCode });
      },
    });
  }

  /**
   * POSTs `body` to `endpoint` (e.g. `/usage/getusage`) and returns the parsed JSON;
   * `acceptsText`: the endpoint returns a string, which may come bare rather than as JSON.
   */
  post(endpoint: string, body: Record<string, unknown>, acceptsText = false): Promise<unknown> {
    const path = `${this.basePath}${endpoint}`;
    const json = JSON.stringify(body);
    return this.http.request(
      () => {
        // Signed per attempt: the epoch must be fresh.
        const epoch = Math.floor((this.o.now ?? (() => (this.o.clock ?? systemClock).now()))() / 1000);
        const headers = signedHeaders({ method: 'POST', accessKey: this.o.accessKey, username: this.o.username, version: this.o.version, epoch, path }, this.o.secretKey);
        return { path, method: 'POST', headers, body: json, name: `iplum POST ${endpoint}`, display: endpoint, attributes: { endpoint } };
      },
      (res) => this.result(res.status, res.body, endpoint, acceptsText, res.contentType),
    );
  }

  /** The parsed body, or the error the response means. */
  private result(status: number, text: string, endpoint: string, acceptsText: boolean, contentType?: string): unknown {
    // An HTML page is never the API's answer (a proxy's or portal's page): not even where a bare
    // string is accepted, where it would become the record's content.
    if (status < 400 && contentType === 'text/html') {
      throw new IplumApiError('IPLUM_BAD_BODY', `response to ${endpoint} is an HTML page (${text.length} bytes), not the API's answer: a proxy in between?`, { retriable: true, path: endpoint });
    }
    let parsed: unknown;
    let json = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      json = false;
    }
    if (!json && status < 400) {
      // getcontent and getrecordingfile "return a string": the page shows it bare (Hello), not
      // as a JSON string ("Hello"). Accept both where a string is what is asked for.
      if (acceptsText) return text;
      throw new IplumApiError('IPLUM_BAD_BODY', `response to ${endpoint} is not valid JSON (${text.length} bytes)`, { retriable: true, path: endpoint });
    }
    if (status < 400) return parsed;
    const e = (parsed ?? {}) as { errorCode?: string; errorDescription?: string };
    const desc = e.errorDescription ?? `HTTP ${status}`;
    if (status === 401 || status === 403) {
      throw new IplumApiError('IPLUM_AUTH_FAILED', `iPlum refused the request (HTTP ${status}): ${desc} — check access_key, secret_key and username`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
    }
    if (e.errorCode === 'ERR_INVALID_DATE') throw new IplumApiError('IPLUM_INVALID_DATE', `iPlum refused the date range: ${desc}`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
    if (e.errorCode === 'ERR_INVALID_REQUEST') throw new IplumApiError('IPLUM_INVALID_REQUEST', `iPlum refused the request: ${desc}`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
    throw new IplumApiError('IPLUM_API_ERROR', `iPlum answered ${status} to ${endpoint}: ${desc}`, { retriable: false, status, path: endpoint, errorCode: e.errorCode });
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** `{ errorCode, errorDescription }` from an error body, when it is one. */
function errorBody(text: string): { errorCode?: string; errorDescription?: string } {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as { errorCode?: string; errorDescription?: string }) : {};
  } catch {
    return {};
  }
}
