/**
 * The base URL of a pipeline's ops server from what a user types: `host:port` (as `run --http`
 * takes it), `:port`, or a URL (`http://host:port`, with or without a trailing `/` or `/metrics`).
 * Undefined when it is none of those.
 */
export function opsBaseUrl(text: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text.startsWith(':') ? `127.0.0.1${text}` : text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/(metrics|status|ui\/?)?$/, '')}`;
}

/** Why `base` could not be read, in words a user acts on (fetch says only "fetch failed"). */
export function unreachable(base: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const host = new URL(base).host;
  const why =
    cause?.code === 'ECONNREFUSED'
      ? `nothing listens on ${host} (connection refused)`
      : cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN'
        ? `the host of ${host} is not known`
        : cause?.code === 'ETIMEDOUT' || cause?.code === 'UND_ERR_CONNECT_TIMEOUT'
          ? `${host} did not answer (timed out)`
          : `${(err as Error).message}${cause?.message ? `: ${cause.message}` : ''}`;
  return `cannot reach ${base}: ${why}. Is \`plumline run <pipeline.yaml> --http ${host}\` running there?`;
}
