import type { IncomingMessage, ServerResponse } from 'node:http';
import { countIn, readBody, VendorEmulator, type EmulatorFaults, type EmulatorStats } from '@plumline/core/emulator';
import { systemClock, type Clock, type Timer } from '@plumline/core/util';
import { request } from 'undici';
import { parseIplumDate } from '../iplum-date.js';
import { sign } from '../iplum-signer.js';
import { IplumData, usageTypeOf } from './iplum-data.js';

/** The longest range the iPlum emulator accepts per request (5 days, as the API). */
export const MAX_RANGE_MS = 5 * 86_400_000;
/** How far a signed request's epoch may be from the iPlum emulator's clock. */
export const EPOCH_TOLERANCE_SEC = 300;

/** One fault the iPlum emulator answers a request with. */
export type IplumFault = { status: 429 | 500 | 503; retryAfterSec?: number } | { status: 400; errorCode: 'ERR_INVALID_REQUEST' | 'ERR_INVALID_DATE'; errorDescription?: string } | { truncate: true } | { delayMs: number };

/** Faults the iPlum emulator injects (for fault tests): core's queue and latency. */
export type IplumFaults = EmulatorFaults<IplumFault>;

interface Stats extends EmulatorStats {
  /** The most requests in flight at once. */
  maxConcurrent: number;
  byEndpoint: Record<string, number>;
  unauthorized: number;
  callbacksSent: number;
  callbacksFailed: number;
}

/** Options of the iPlum API emulator. */
export interface IplumEmulatorOptions {
  /** Times simulated latency and retries and stamps arrivals. Default: the system clock. */
  clock?: Clock;
  host?: string;
  port?: number;
  seed?: number;
  recordsPerSecond?: number;
  originMs?: number;
  accessKey?: string;
  secretKey?: string;
  username?: string;
  now?: () => number;
  /**
   * List a usage record only once it ended (a reading of the vendor page we cannot rule out):
   * a call then first appears up to 30 minutes after its start. Default: listed from its start.
   */
  listAfterEnd?: boolean;
  faults?: IplumFaults;
  /** Push callbacks for new records to this URL (usage and recordings), as iPlum does. */
  callbackUrl?: string;
  callbackHeaders?: Record<string, string>;
  /** How often new records are looked for and pushed. */
  callbackIntervalMs?: number;
}

const VALID_USAGE = new Set(['iplumtext', 'externalcall', 'externaltext', 'fax', 'iplumcall']);

/**
 * A faithful emulator of iPlum's usage API (docs/apis.md): four POST endpoints, full
 * HMAC-SHA256 signature verification (wrong key, wrong path case or an epoch more than 300 s
 * off → 401), the 5-day rule (400 ERR_INVALID_DATE), 405 for other methods, ERR_INVALID_REQUEST
 * for bad bodies, deterministic seeded data, content and media URLs, recordings, injectable
 * faults, and a mode that pushes callbacks for new records to a URL.
 */
export class IplumEmulator extends VendorEmulator<IplumFault, IplumFaults, Stats> {
  readonly data: IplumData;
  private inFlight = 0;
  private readonly now: () => number;
  private readonly accessKey: string;
  private readonly secretKey: string;
  private readonly username: string;
  /** recordId → index, for the records served so far (content and recording files are looked up by id). */
  private readonly usageIds = new Map<string, number>();
  private readonly recordingIds = new Map<string, number>();
  private pushTimer: Timer | undefined;
  private pushedUntil = 0;
  private pushing = false;

  constructor(private readonly options: IplumEmulatorOptions = {}) {
    super({ host: options.host, port: options.port, basePath: '/', clock: options.clock }, options.faults, { maxConcurrent: 0, requests: 0, byEndpoint: {}, unauthorized: 0, callbacksSent: 0, callbacksFailed: 0, arrivals: [] });
    this.now = options.now ?? systemClock.now;
    this.accessKey = options.accessKey ?? 'DEMOACCESSKEY';
    this.secretKey = options.secretKey ?? 'demo-secret-key';
    this.username = options.username ?? 'admin@acme-voice.com';
    this.data = new IplumData({ seed: options.seed ?? 1, recordsPerSecond: options.recordsPerSecond ?? 0.05, originMs: options.originMs ?? this.now() - 400 * 86_400_000 });
  }

  protected failureBody(message: string): string {
    return JSON.stringify({ errorCode: 'ERR_SERVER', errorDescription: message });
  }

  override async start(): Promise<string> {
    const url = await super.start();
    if (this.options.callbackUrl) {
      this.pushedUntil = this.now();
      this.pushTimer = this.clock.setInterval(() => void this.push(), this.options.callbackIntervalMs ?? 200);
    }
    return url;
  }

  override async stop(): Promise<void> {
    this.pushTimer?.cancel();
    await super.stop();
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: string, description: string): void {
    this.json(res, status, { errorCode: code, errorDescription: description });
  }

  private verify(req: IncomingMessage, path: string): string | undefined {
    const h = req.headers;
    const accessKey = h['x-iplumauth-accesskey'];
    const username = h['x-iplumauth-username'];
    const epochText = h['x-iplumauth-epochdatetime'];
    const version = h['x-iplumauth-version'];
    const auth = h.authorization;
    if (typeof accessKey !== 'string' || typeof username !== 'string' || typeof epochText !== 'string' || typeof version !== 'string' || typeof auth !== 'string') return 'missing authentication headers';
    if (accessKey !== this.accessKey) return 'unknown access key';
    if (username !== this.username) return 'unknown username';
    const epoch = Number(epochText);
    if (!Number.isInteger(epoch) || Math.abs(epoch - this.now() / 1000) > EPOCH_TOLERANCE_SEC) return 'stale or invalid epoch';
    const expected = sign({ method: req.method ?? '', accessKey, username, version, epoch, path }, this.secretKey);
    if (auth !== `iPlumAuth ${expected}`) return 'invalid signature';
    return undefined;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.arrived();
    this.inFlight++;
    this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.inFlight);
    res.on('close', () => this.inFlight--);
    const endpoint = url.pathname.toLowerCase();
    countIn(this.stats.byEndpoint, endpoint);
    const raw = await readBody(req);
    const fault = this.nextFault();
    await this.delay(fault);
    if (fault && 'errorCode' in fault) return this.error(res, 400, fault.errorCode, fault.errorDescription ?? 'Request has invalid parameters.');
    if (fault && 'status' in fault) {
      return this.json(res, fault.status, { errorCode: 'ERR_SERVER', errorDescription: fault.status === 429 ? 'Too many requests' : 'Server error' }, fault.retryAfterSec !== undefined ? { 'retry-after': String(fault.retryAfterSec) } : {});
    }
    if (req.method !== 'POST') return this.error(res, 405, 'ERR_INVALID_REQUEST', `Method ${req.method} not allowed`);
    // The server signs what it received: the path in lower case, as the representation requires.
    const problem = this.verify(req, url.pathname.toLowerCase());
    if (problem) {
      this.stats.unauthorized++;
      return this.error(res, 401, 'ERR_UNAUTHORIZED', `Invalid authentication credentials (${problem})`);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return this.error(res, 400, 'ERR_INVALID_REQUEST', 'Request has invalid parameters: body is not a JSON object');
    }
    let result: unknown;
    try {
      result = this.dispatch(endpoint, body);
    } catch (err) {
      const e = err as { status?: number; code?: string; message: string };
      return this.error(res, e.status ?? 400, e.code ?? 'ERR_INVALID_REQUEST', e.message);
    }
    let text = JSON.stringify(result);
    if (fault && 'truncate' in fault) text = text.slice(0, Math.floor(text.length * 0.6));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  }

  private range(body: Record<string, unknown>): [number, number] {
    const s = typeof body.StartDate === 'string' ? parseIplumDate(body.StartDate) : undefined;
    const e = typeof body.EndDate === 'string' ? parseIplumDate(body.EndDate) : undefined;
    if (s === undefined || e === undefined) throw Object.assign(new Error('Request has invalid parameters: StartDate and EndDate must be "YYYY-MM-DD HH:mm:ss.SSS"'), { code: 'ERR_INVALID_REQUEST' });
    if (e < s) throw Object.assign(new Error('Request has invalid parameters: EndDate is before StartDate'), { code: 'ERR_INVALID_REQUEST' });
    if (e - s > MAX_RANGE_MS) throw Object.assign(new Error('The date range specified in the request is not valid. The end date should not be later than 5 days from the start date.'), { code: 'ERR_INVALID_DATE' });
    return [s, Math.min(e, this.now())];
  }

  /** Whether a record that ends at `endTimeUTC` is listed yet. */
  private listed(endTimeUTC: string): boolean {
    return !this.options.listAfterEnd || Date.parse(endTimeUTC) <= this.now();
  }

  private dispatch(endpoint: string, body: Record<string, unknown>): unknown {
    switch (endpoint) {
      case '/usage/getusage': {
        const [s, e] = this.range(body);
        const types = typeof body.Usage === 'string' && body.Usage.trim() ? body.Usage.split(',').map((t) => t.trim().toLowerCase()) : [...VALID_USAGE];
        const bad = types.find((t) => !VALID_USAGE.has(t));
        if (bad) throw Object.assign(new Error(`Request has invalid parameters: unknown Usage "${bad}"`), { code: 'ERR_INVALID_REQUEST' });
        const wanted = new Set(types);
        const [lo, hi] = this.data.indexRange(s, e);
        const out = [];
        for (let i = lo; i < hi; i++) {
          const u = this.data.usage(i);
          if (!wanted.has(usageTypeOf(u)) || !this.listed(u.endTimeUTC)) continue;
          this.usageIds.set(u.recordId, i);
          out.push(u);
        }
        return out;
      }
      case '/callrecordings/getrecordings': {
        const [s, e] = this.range(body);
        const [lo, hi] = this.data.indexRange(s, e);
        const out = [];
        for (let i = lo; i < hi; i++) {
          if (!this.data.hasRecording(i) || !this.listed(this.data.usage(i).endTimeUTC)) continue;
          const r = this.data.recording(i);
          this.recordingIds.set(r.recordId, i);
          out.push(r);
        }
        return out;
      }
      case '/usage/getcontent': {
        const i = typeof body.RecordID === 'string' ? this.usageIds.get(body.RecordID) : undefined;
        if (i === undefined || this.data.usage(i).usage === 'call') throw Object.assign(new Error('Request has invalid parameters: unknown RecordID'), { code: 'ERR_INVALID_REQUEST' });
        return this.data.contentOf(i);
      }
      case '/callrecordings/getrecordingfile': {
        const i = typeof body.RecordID === 'string' ? this.recordingIds.get(body.RecordID) : undefined;
        if (i === undefined) throw Object.assign(new Error('Request has invalid parameters: unknown RecordID'), { code: 'ERR_INVALID_REQUEST' });
        return this.data.recordingUrlOf(i);
      }
      default:
        throw Object.assign(new Error(`Unknown endpoint ${endpoint}`), { status: 404, code: 'ERR_NOT_FOUND' });
    }
  }

  /** Pushes callbacks for records that appeared since the last push. */
  private async push(): Promise<void> {
    if (this.pushing || !this.options.callbackUrl) return;
    this.pushing = true;
    try {
      const until = this.now();
      const [lo, hi] = this.data.indexRange(this.pushedUntil, until);
      for (let i = lo; i < hi; i++) {
        const u = this.data.usage(i);
        this.usageIds.set(u.recordId, i);
        const bodies: unknown[] = [u.usage === 'call' ? u : { ...u, content: this.data.contentOf(i) }];
        if (this.data.hasRecording(i)) {
          const r = this.data.recording(i);
          this.recordingIds.set(r.recordId, i);
          bodies.push({ ...r, content: this.data.recordingUrlOf(i) });
        }
        for (const b of bodies) await this.deliver(b);
      }
      this.pushedUntil = until;
    } finally {
      this.pushing = false;
    }
  }

  private async deliver(body: unknown): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const res = await request(this.options.callbackUrl!, { method: 'POST', headers: { 'content-type': 'application/json', ...this.options.callbackHeaders }, body: JSON.stringify(body) });
        await res.body.dump();
        if (res.statusCode < 300) {
          this.stats.callbacksSent++;
          return;
        }
      } catch {
        // receiver down: retry below
      }
      this.stats.callbacksFailed++;
      await this.clock.sleep(100 * (attempt + 1));
    }
  }
}
