import type { HttpAuth, HttpSourceConfig, RequestVar } from './http-source-config.js';

const VAR_RE = /\{\{\s*([^}\s]*)\s*\}\}/g;

/** The values of a request's placeholders; an absent one renders empty. */
export type RequestVars = Partial<Record<RequestVar, string>>;

/** A request about to be sent, as a signer sees it: it may change the URL, the headers and the body. */
export interface HttpRequestToSign {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Signs a request (once per attempt, so a signature may depend on the time): `params` are
 * `auth.params` of the config, `nowMs` the clock. iPlum's HMAC, for one, is a signer.
 */
export type HttpSigner = (request: HttpRequestToSign, params: Readonly<Record<string, string>>, nowMs: number) => void;

function render(template: string, vars: RequestVars, escape: (v: string) => string): string {
  return template.replace(VAR_RE, (_m, name: string) => escape(vars[name as RequestVar] ?? ''));
}

/** `\"` and friends: a value inserted into a JSON string literal of the body. */
const jsonEscape = (v: string): string => JSON.stringify(v).slice(1, -1);

/**
 * Builds the requests of one `http` source: the URL template rendered (values URL-encoded), the
 * query parameters (one that renders empty is left out: the first page has no cursor), headers,
 * the body (values JSON-escaped), then auth, then the signer.
 */
export class HttpRequestBuilder {
  private readonly accept: string | undefined;

  constructor(
    private readonly c: Pick<HttpSourceConfig, 'url' | 'method' | 'query' | 'headers' | 'body' | 'format'>,
    private readonly auth: HttpAuth | undefined,
    private readonly signer: HttpSigner | undefined,
  ) {
    const named = Object.keys(c.headers).some((h) => h.toLowerCase() === 'accept');
    this.accept = named ? undefined : c.format === 'xml' ? 'application/xml' : 'application/json';
  }

  /** The first URL of a listing: the template rendered with `vars` and the query added. */
  firstUrl(vars: RequestVars): URL {
    const url = new URL(render(this.c.url, vars, encodeURIComponent));
    for (const [k, t] of Object.entries(this.c.query)) {
      const v = render(t, vars, (x) => x);
      if (v !== '') url.searchParams.set(k, v);
    }
    return url;
  }

  /** The request to `url` (a first URL, or a link the server gave), with headers, body, auth and signature. */
  build(url: URL, vars: RequestVars, nowMs: number): HttpRequestToSign {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    if (this.accept) headers.accept = this.accept;
    for (const [k, t] of Object.entries(this.c.headers)) headers[k.toLowerCase()] = render(t, vars, (x) => x);
    const req: HttpRequestToSign = { method: this.c.method, url: u, headers };
    if (this.c.body !== undefined) {
      req.body = render(this.c.body, vars, jsonEscape);
      headers['content-type'] ??= this.c.body.trimStart().startsWith('{') || this.c.body.trimStart().startsWith('[') ? 'application/json' : 'text/plain';
    }
    const a = this.auth;
    if (a?.type === 'basic') headers.authorization = `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
    else if (a?.type === 'bearer') headers.authorization = `Bearer ${a.token}`;
    else if (a?.type === 'api_key' && a.in === 'header') headers[a.name.toLowerCase()] = a.value;
    else if (a?.type === 'api_key') u.searchParams.set(a.name, a.value);
    else if (a?.type === 'signed') this.signer?.(req, a.params, nowMs);
    return req;
  }

  /** A URL the server named, as kept in a checkpoint: without an API key in the query. */
  stored(url: URL): string {
    const a = this.auth;
    if (a?.type !== 'api_key' || a.in !== 'query') return url.href;
    const u = new URL(url);
    u.searchParams.delete(a.name);
    return u.href;
  }

  /** The URL as log lines and errors show it: without an API key in the query. */
  display(url: URL): string {
    const a = this.auth;
    if (a?.type !== 'api_key' || a.in !== 'query' || !url.searchParams.has(a.name)) return `${url.pathname}${url.search}`;
    const u = new URL(url);
    u.searchParams.set(a.name, '***');
    return `${u.pathname}${u.search}`;
  }
}

/** The target of `rel="next"` in RFC 8288 Link header values, resolved against `base`; undefined when there is none. */
export function nextLink(header: string | string[] | undefined, base: URL): URL | undefined {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const value of values) {
    // Link values are `<uri>; param=value; …`, separated by commas (which a URI in <> may hold).
    for (const m of value.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
      const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(m[2] ?? '');
      const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
      if (rels.includes('next')) return new URL(m[1]!, base);
    }
  }
  return undefined;
}
