import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { defineSource, PipelineError, type CallEvent, type ComponentContext, type PreflightProblem, type SourcePage } from '@plumline/core';
import { unreadableFileProblem } from '@plumline/core/util';
import { checkRecording, checkUsage, recordingEvent, usageEvent } from '../iplum-events.js';
import { callbackConfigSchema, type CallbackConfig } from './callback-config.js';
import { CallbackWal, type WalEntry } from './callback-wal.js';

const PAGE_MAX_EVENTS = 1000;

/** Checkpoint of the receiver: the last write-ahead-log entry whose event every sink acknowledged. */
export interface CallbackCheckpoint {
  walSeq: number;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A pushed record as an event (the same event the poller makes for it). Throws with the reason when it fails the schema. */
export function callbackEvent(body: unknown, includeRaw: boolean): CallEvent {
  if (body && typeof body === 'object' && 'phonenumber' in body && !('usage' in body)) {
    checkRecording(body);
    return recordingEvent(body, includeRaw);
  }
  checkUsage(body);
  return usageEvent(body, includeRaw);
}

class CallbackReceiver {
  private server: Server | undefined;
  private readonly wal: CallbackWal;
  private queue: { seq: number; event: CallEvent }[] = [];
  private wake: (() => void) | undefined;
  private closed: Promise<void> | undefined;
  readonly stats = { accepted: 0, rejected: 0 };
  /** acknowledge: delivered — the last sequence number given out (no log: numbers go on from the committed checkpoint). */
  private lastSeq = 0;
  /** acknowledge: delivered — requests waiting for their callback's checkpoint, by sequence number (in order). */
  private readonly awaitingDelivery: { seq: number; settle: (delivered: boolean) => void }[] = [];

  constructor(
    private readonly c: CallbackConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.wal = new CallbackWal(ctx.state, ctx.id, ctx.logger);
  }

  private committedSeq(): number {
    return (this.ctx.committedPosition() as CallbackCheckpoint | undefined)?.walSeq ?? 0;
  }

  /** Replays the log (acknowledge: stored), then listens. */
  async start(): Promise<void> {
    this.lastSeq = this.committedSeq();
    if (this.c.acknowledge === 'stored') await this.replay();
    await this.listen();
  }

  private async replay(): Promise<void> {
    const replay: WalEntry[] = await this.wal.open(this.committedSeq());
    for (const e of replay) {
      try {
        this.queue.push({ seq: e.seq, event: callbackEvent(e.body, this.c.include_raw) });
      } catch (err) {
        this.ctx.logger.error({ seq: e.seq, err }, 'a logged callback no longer parses; skipping it');
      }
    }
    if (replay.length) this.ctx.logger.info({ callbacks: replay.length }, 'replaying callbacks stored before a restart');
  }

  private async listen(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        this.ctx.logger.error({ err }, 'callback handler failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    this.server = this.c.tls ? createHttpsServer({ cert: readFileSync(this.c.tls.cert), key: readFileSync(this.c.tls.key) }, handler) : createHttpServer(handler);
    const i = this.c.listen.lastIndexOf(':');
    const host = this.c.listen.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(this.c.listen.slice(i + 1));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      this.server = undefined;
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'EADDRINUSE' ? ': another process listens there; pick another port in `listen`' : code === 'EACCES' ? ': ports below 1024 need privileges' : '';
      throw new PipelineError('CALLBACK_LISTEN_FAILED', `iplum_callbacks cannot listen on ${this.c.listen}${hint} (${(err as Error).message})`, { cause: err, retriable: false, fields: { listen: this.c.listen, code } });
    });
    this.server.on('error', (err) => this.ctx.reportError(err));
    this.ctx.logger.info({ listen: this.c.listen, path: this.c.path, tls: Boolean(this.c.tls) }, 'iPlum callback receiver listening');
  }

  get address(): { port: number } {
    return this.server!.address() as { port: number };
  }

  private reply(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
    if (status >= 400) this.stats.rejected++;
    res.writeHead(status, { 'content-type': 'application/json', ...headers, ...(status === 413 ? { connection: 'close' } : {}) });
    res.end(JSON.stringify(body));
  }

  private authorized(req: IncomingMessage, pathname: string): boolean {
    const a = this.c.auth;
    if ('header' in a) {
      const v = req.headers[a.header.name.toLowerCase()];
      return typeof v === 'string' && safeEqual(v, a.header.value);
    }
    if ('path_secret' in a) return safeEqual(pathname, `${this.c.path.replace(/\/$/, '')}/${a.path_secret}`);
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return false;
    return safeEqual(Buffer.from(h.slice(6), 'base64').toString('utf8'), `${a.basic.username}:${a.basic.password}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      return this.reply(res, 200, { status: 'ok', pending: this.pending(), accepted: this.stats.accepted });
    }
    const base = this.c.path.replace(/\/$/, '');
    const onPath = 'path_secret' in this.c.auth ? url.pathname.startsWith(`${base}/`) : url.pathname === this.c.path;
    if (!onPath) return this.reply(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return this.reply(res, 405, { error: 'use POST' }, { allow: 'POST' });
    if (!this.authorized(req, url.pathname)) {
      this.ctx.logger.warn({ remote: req.socket.remoteAddress }, 'callback without valid credentials refused');
      return this.reply(res, 401, { error: 'unauthorized' }, 'basic' in this.c.auth ? { 'www-authenticate': 'Basic realm="plumline"' } : {});
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.c.max_body) return this.reply(res, 413, { error: `body over ${this.c.max_body} bytes` });
    if (!/^application\/(.+\+)?json\b/i.test(req.headers['content-type'] ?? '')) return this.reply(res, 415, { error: 'send Content-Type: application/json' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.c.max_body) return this.reply(res, 413, { error: `body over ${this.c.max_body} bytes` });
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      this.ctx.logger.warn({ reason: (err as Error).message }, 'callback with malformed JSON refused');
      return this.reply(res, 400, { error: 'malformed JSON' });
    }
    let event: CallEvent;
    try {
      event = callbackEvent(body, this.c.include_raw);
    } catch (err) {
      this.ctx.logger.warn({ reason: (err as Error).message }, 'callback that fails the schema refused');
      return this.reply(res, 400, { error: (err as Error).message });
    }
    if (this.pending() >= this.c.max_pending) {
      return this.reply(res, 503, { error: 'pipeline saturated; retry later' }, { 'retry-after': '1' });
    }
    if (this.c.acknowledge === 'delivered') return this.deliverThenReply(res, event);
    // Durable before 2xx: a 2xx that is then lost would be lost for good.
    const seq = await this.wal.append(body);
    this.stats.accepted++;
    this.queue.push({ seq, event });
    this.wake?.();
    this.reply(res, 200, { status: 'accepted' });
  }

  /** acknowledge: delivered — the 2xx waits until the checkpoint covering the callback is committed; a stop first gets 503 (the caller sends it again). */
  private async deliverThenReply(res: ServerResponse, event: CallEvent): Promise<void> {
    const seq = ++this.lastSeq;
    const delivered = new Promise<boolean>((settle) => this.awaitingDelivery.push({ seq, settle }));
    this.queue.push({ seq, event });
    this.wake?.();
    if (await delivered) {
      this.stats.accepted++;
      this.reply(res, 200, { status: 'delivered' });
    } else this.reply(res, 503, { error: 'receiver stopping before the callback was delivered; retry' }, { 'retry-after': '1' });
  }

  /** Source.committed: answers the requests whose callbacks the committed checkpoint covers. */
  committed(checkpoint: CallbackCheckpoint): void {
    let n = 0;
    while (n < this.awaitingDelivery.length && this.awaitingDelivery[n]!.seq <= checkpoint.walSeq) this.awaitingDelivery[n++]!.settle(true);
    this.awaitingDelivery.splice(0, n);
  }

  /** Accepted and not yet acknowledged by every sink. */
  private pending(): number {
    return (this.c.acknowledge === 'delivered' ? this.lastSeq : this.wal.lastSeq) - this.committedSeq();
  }

  async *read(): AsyncGenerator<SourcePage> {
    while (!this.ctx.signal.aborted) {
      if (this.queue.length === 0) {
        // One listener and one timer per wait, both removed when it ends (a wait every idle
        // second must not leave a listener behind each time).
        await new Promise<void>((resolve) => {
          const done = (): void => {
            t.cancel();
            this.ctx.signal.removeEventListener('abort', done);
            resolve();
          };
          this.wake = done;
          const t = this.ctx.clock.setTimeout(done, 1000);
          this.ctx.signal.addEventListener('abort', done, { once: true });
        });
        this.wake = undefined;
        await this.wal.trim(this.committedSeq()).catch((err: unknown) => this.ctx.reportError(err));
        continue;
      }
      const take = this.queue.splice(0, PAGE_MAX_EVENTS);
      yield { events: take.map((t) => t.event), checkpoint: { walSeq: take[take.length - 1]!.seq } };
    }
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      // The final commit ran before close: what is still waiting was not delivered.
      for (const w of this.awaitingDelivery.splice(0)) w.settle(false);
      const s = this.server;
      this.server = undefined;
      if (s) {
        s.closeIdleConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await this.wal.flush();
    })());
  }
}

/**
 * `iplum_callbacks`: an HTTP(S) receiver for iPlum's usage and recording callbacks. Every
 * accepted callback is fsynced to a write-ahead log before the 2xx, replayed after a crash,
 * and trimmed once the sinks acknowledged it. Events are the same as the poller's, so `dedupe`
 * on `id` merges pushed and polled copies.
 *
 * ```yaml
 * sources:
 *   pushed:
 *     type: iplum_callbacks
 *     listen: 0.0.0.0:8090
 *     auth: { header: { name: x-plumline-secret, value: "${CALLBACK_SECRET}" } }
 * ```
 */
export const iplumCallbacksSource = defineSource({
  type: 'iplum_callbacks',
  description: "Receives iPlum's push callbacks over HTTP(S), answering 2xx once each is durable: in a local write-ahead log, or (acknowledge: delivered) acknowledged by every sink.",
  configSchema: callbackConfigSchema,
  // The TLS files are read when the server starts: validate reads them as run would.
  preflight(config, ctx) {
    const problems: PreflightProblem[] = [];
    if (!config.tls || ctx.env === undefined) return problems;
    for (const key of ['cert', 'key'] as const) {
      const problem = unreadableFileProblem(config.tls[key]);
      if (problem) problems.push({ code: 'CONFIG_FILE_UNREADABLE', path: ['tls', key], message: `tls.${key}: ${problem}: give the path of a readable PEM file (a relative one is from the working directory)` });
    }
    return problems;
  },
  async create(config, ctx) {
    const r = new CallbackReceiver(config, ctx);
    await r.start();
    return {
      bounded: false,
      wellFormedEvents: true,
      read: () => r.read(),
      committed: (checkpoint: CallbackCheckpoint) => Promise.resolve(r.committed(checkpoint)),
      close: () => r.close(),
    };
  },
});
