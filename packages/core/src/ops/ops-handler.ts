import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import type { CommittedCheckpoints, Pipeline } from '../runtime/pipeline.js';
import { RecentDeadLetters } from './recent-dead-letters.js';
import { statusDocument } from './status-document.js';
import { serveTap } from './tap-endpoint.js';

/** A node:http request listener (what `http.createServer` takes; Express and Fastify's `raw` handlers too). */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of {@link OpsHandler}. */
export interface OpsHandlerOptions {
  /**
   * Serves `GET /metrics`: the host's Prometheus exporter, e.g.
   * `exporter.getMetricsRequestHandler.bind(exporter)` of `@opentelemetry/exporter-prometheus`
   * (created with `preventServerStart: true`). Without it, `/metrics` answers 404 with that hint.
   */
  metrics?: RequestListener;
  /** Cleans what `/tap`, `/status` and the probes send (the values of secret config fields). Default: as is. */
  redact?: (text: string) => string;
  /** Where the handler is mounted (`/ops`): requests outside it are not its own. Default: the root. */
  prefix?: string;
  /** Shown by `/status` and the web view. */
  version?: string;
}

/** The web view's files (packages/core/web), read at the first request for each. */
const WEB_FILES: Record<string, { file: string; type: string }> = {
  '/ui/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
const WEB_DIR = new URL('../../web/', import.meta.url);

/** The paths the handler answers, for its 404. */
const ROUTES = '/metrics, /healthz, /readyz, /status, /tap/<component>, /ui/';

/**
 * The ops endpoints of a pipeline, as one node:http handler to mount in a host's own server —
 * what `plumline run --http` serves:
 * - `GET /metrics` — the host's Prometheus exporter (option `metrics`);
 * - `GET /healthz` — 200 while the pipeline runs or ended cleanly, 503 once it failed;
 * - `GET /readyz` — 200 once every component started and while none is failing; 503 with the reasons;
 * - `GET /status` — the graph, counters, health, committed checkpoints (summarized), last errors and dead letters, as JSON;
 * - `GET /tap/<component>[?limit=N&every=K]` — a sample of what a source or transform emits, NDJSON;
 * - `GET /ui/` — a read-only web view of all that (plain HTML, CSS and JavaScript shipped with the package).
 *
 * It only reads: every other method gets 405. It has no authentication of its own: bind it to
 * a private address or mount it behind the host's. `handle` returns false for a request outside
 * its paths, so a host can route the rest itself. Attach the pipeline before `start()` to see
 * every dead letter.
 *
 * @example
 * const ops = new OpsHandler({ metrics: exporter.getMetricsRequestHandler.bind(exporter) });
 * ops.attach(pipeline);
 * http.createServer((req, res) => ops.handle(req, res) || app(req, res)).listen(8080);
 */
export class OpsHandler {
  private pipeline: Pipeline | undefined;
  private checkpoints: CommittedCheckpoints | undefined;
  private committed: Subscription | undefined;
  private readonly deadLetters = new RecentDeadLetters();
  private readonly prefix: string;
  private readonly redact: (text: string) => string;
  private readonly files = new Map<string, Promise<Buffer>>();

  constructor(private readonly options: OpsHandlerOptions = {}) {
    this.prefix = (options.prefix ?? '').replace(/\/+$/, '');
    this.redact = options.redact ?? ((t) => t);
  }

  /** The pipeline to report on: until then the probes answer "starting" (503). */
  attach(pipeline: Pipeline): void {
    this.close();
    this.pipeline = pipeline;
    this.deadLetters.watch(pipeline);
    this.committed = pipeline.committed$.subscribe({ next: (c) => (this.checkpoints = c), error: () => {} });
  }

  /** Stops watching the pipeline (its dead letters and checkpoints). Idempotent. */
  close(): void {
    this.committed?.unsubscribe();
    this.committed = undefined;
    this.deadLetters.close();
  }

  /** Answers a request for one of its paths and returns true; returns false (and leaves `res` alone) for any other path. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const full = (req.url ?? '/').split('?')[0]!;
    if (this.prefix && full !== this.prefix && !full.startsWith(`${this.prefix}/`)) return false;
    const path = full.slice(this.prefix.length) || '/';
    if (path !== '/' && !/^\/(metrics|healthz|readyz|status|ui)$/.test(path) && !path.startsWith('/tap/') && !path.startsWith('/ui/')) return false;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return true;
    }
    if (path === '/metrics') {
      if (this.options.metrics) this.options.metrics(req, res);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('no metrics here: give OpsHandler a `metrics` handler (a Prometheus exporter)\n');
    } else if (path === '/healthz' || path === '/readyz') this.probe(path, res);
    else if (path === '/status') this.status(res);
    else if (path.startsWith('/tap/')) serveTap(req, res, path, this.pipeline, this.redact);
    else if (path === '/ui' || path === '/') res.writeHead(302, { location: `${this.prefix}/ui/` }).end();
    else this.webFile(path, res);
    return true;
  };

  private probe(path: '/healthz' | '/readyz', res: ServerResponse): void {
    const h = this.pipeline?.health();
    const ok = path === '/healthz' ? h !== undefined && !h.error : (h?.ready ?? false);
    const body = JSON.stringify(h ? { status: ok ? 'ok' : 'unavailable', ...h } : { status: 'starting' });
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(this.redact(body));
  }

  private status(res: ServerResponse): void {
    if (!this.pipeline) {
      res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"status":"starting"}');
      return;
    }
    const doc = statusDocument(this.pipeline, { deadLetters: this.deadLetters.list(), ...(this.checkpoints ? { checkpoints: this.checkpoints } : {}), ...(this.options.version ? { version: this.options.version } : {}) });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(this.redact(JSON.stringify(doc)));
  }

  private webFile(path: string, res: ServerResponse): void {
    const f = WEB_FILES[path];
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${ROUTES}\n`);
      return;
    }
    let body = this.files.get(f.file);
    if (!body) {
      body = readFile(new URL(f.file, WEB_DIR));
      body.catch(() => this.files.delete(f.file));
      this.files.set(f.file, body);
    }
    body.then(
      (b) => res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).end(b),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`the web view's ${f.file} cannot be read: ${(err as Error).message}\n`),
    );
  }
}
