import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServerNow } from '../util/close-server.js';
import { systemClock, type Clock } from '../util/clock.js';

/** The faults every vendor emulator takes: a queue (one fault per upcoming request) and latency on every response. */
export interface EmulatorFaults<F> {
  /** Applied to the next requests, one per request, in order. */
  next?: F[];
  /** Latency added to every response. */
  latencyMs?: number;
}

/** What every vendor emulator counts (each adds counters of its own). */
export interface EmulatorStats {
  requests: number;
  /** Arrival time (ms) of each request, most recent last (the last {@link ARRIVALS_KEPT}). */
  arrivals: number[];
}

/** How many arrival times an emulator keeps: enough to check a rate, bounded however long a demo runs. */
export const ARRIVALS_KEPT = 1_000;

/** Where a vendor emulator listens. */
export interface EmulatorListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Times the latency and the arrivals (tests pass a fake one). Default: the system clock. */
  clock?: Clock;
}

/**
 * The plumbing every vendor API emulator shares (Plum's, iPlum's): a node:http server started on a
 * host and port (a port in use rejects the start), stopped with its keep-alive connections cut,
 * faults switchable at any time (`setFaults`, or `POST /_emulator/faults` with the same JSON),
 * the counters at `GET /_emulator/stats`, and the helpers a request handler uses: the next queued
 * fault, the latency to add, the arrival to count. What the vendor's API says stays in the subclass.
 */
export abstract class VendorEmulator<F extends object, P extends EmulatorFaults<F>, S extends EmulatorStats> {
  protected faults: P;
  private server: Server | undefined;
  /** The emulator's clock: latency, arrival times, a subclass's timers. */
  protected readonly clock: Clock;

  protected constructor(
    private readonly listen: EmulatorListenOptions & {
      /** The path of the API under the origin, as `url` names it (`/ws/`, `/`). */
      basePath: string;
      /** How long the server keeps an idle connection (node's default: 5 s). */
      keepAliveTimeoutMs?: number;
    },
    faults: P | undefined,
    readonly stats: S,
  ) {
    this.faults = { ...faults } as P;
    this.clock = listen.clock ?? systemClock;
  }

  /** Answers one request of the vendor's API (the emulator's own paths are answered before). */
  protected abstract handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;

  /** The body of the 500 a request gets when handling it threw, in the vendor's error format. */
  protected abstract failureBody(message: string): string;

  setFaults(faults: P): void {
    this.faults = { ...faults, next: [...(faults.next ?? [])] };
  }

  /** Starts listening; resolves with the base URL (`http://host:port` and the base path). */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(this.failureBody((err as Error).message));
      });
    });
    if (this.listen.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = this.listen.keepAliveTimeoutMs;
    this.server = server;
    // A port in use (EADDRINUSE) rejects the start instead of an unhandled 'error' event.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listen.port ?? 0, this.listen.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://${a.address}:${a.port}${this.listen.basePath}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServerNow(s);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    if (url.pathname === '/_emulator/faults' && req.method === 'POST') {
      this.setFaults(JSON.parse((await readBody(req)) || '{}') as P);
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/_emulator/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.stats));
      return;
    }
    await this.handle(req, res, url);
  }

  /** Counts a request of the API: one more, and its arrival time (on the emulator's clock). */
  protected arrived(): void {
    this.stats.requests++;
    this.stats.arrivals.push(this.clock.now());
    if (this.stats.arrivals.length > ARRIVALS_KEPT) this.stats.arrivals.shift();
  }

  /** The next queued fault, if any. */
  protected nextFault(): F | undefined {
    return this.faults.next?.shift();
  }

  /** Waits the latency of every response plus the fault's own delay (`{ delayMs }`). */
  protected async delay(fault: F | undefined): Promise<void> {
    const latency = (this.faults.latencyMs ?? 0) + (fault && 'delayMs' in fault && typeof fault.delayMs === 'number' ? fault.delayMs : 0);
    if (latency > 0) await this.clock.sleep(latency);
  }
}

/** Adds one to `counts[key]` (requests per service or endpoint). */
export function countIn(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** The whole body of a request, as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}
