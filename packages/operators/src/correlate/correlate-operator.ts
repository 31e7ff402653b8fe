import { Observable } from 'rxjs';
import { defineOperator, operatorReceipt, withDead, type Batch, type CallEvent, type OperatorContext, type Receipt } from '@plumline/core';
import { correlateConfigSchema, type CorrelateConfig } from './correlate-config.js';
import { Correlator, type Held, type Released } from './correlator.js';

/** State log of the held events: one JSON line per event that started being held, and lines naming those that left. */
const LOG_KEY = 'held.log';
/** How often closed windows are looked for, at most (a quarter of the window when that is shorter). */
export const MAX_TICK_MS = 1_000;
/** The log is rewritten when it is more than twice what is live plus this. */
const COMPACT_SLACK_BYTES = 1 << 20;
/** At most one warning about max_pending per this many milliseconds (with the count since the last). */
const EVICTION_WARN_INTERVAL_MS = 10_000;

interface AddRecord {
  n: number;
  e: CallEvent;
  p: { source: string; seq: number }[];
  t: number;
}

/** The log record of a held event (positions without their checkpoints: isCommitted needs only source and seq). */
const recordOf = (h: Held, n: number): AddRecord => ({ n, e: h.e, p: h.positions.map((p) => ({ source: p.source, seq: p.seq })), t: h.arrivedMs });

/**
 * Joins events to their partners within a window, keeping what it holds in a log in the state
 * store: at each commit it appends the events that started being held since the last one (with
 * the source positions they came from) and the numbers of those that left and were delivered
 * downstream. A restart replays the log and restores the events whose positions are committed
 * (the others are read again from the source). The log is compacted when it outgrows what is live.
 */
class CorrelateOperator {
  private readonly correlator: Correlator;
  /** Held events not yet in the log. */
  private unsaved: Held[] = [];
  /**
   * Released events whose output batch every sink finished with, until that batch's positions
   * are committed: a sink may drop uncommitted data on recovery (the file sink does), so until
   * then the event is still owed after a crash and must stay in the log.
   */
  private delivered: Held[] = [];
  /** Released events whose output batch sinks have not finished with: still owed after a crash. */
  private readonly inflight = new Set<Held[]>();

  /** Records restored by `load`, with their size in the log, replayed when the operator is subscribed. */
  private restored: (AddRecord & { bytes: number })[] = [];
  private nextN = 1;
  private logBytes = 0;
  private liveBytes = 0;
  private evictedSinceWarn = 0;
  private lastWarnMs = 0;

  constructor(
    private readonly c: CorrelateConfig,
    private readonly ctx: OperatorContext,
  ) {
    this.correlator = new Correlator(c, (h) => {
      if (!h.log) this.unsaved.push(h);
    });
    ctx.onCommit(() => this.persist());
  }

  async load(): Promise<void> {
    const data = Buffer.from(await this.ctx.state.readLog(LOG_KEY));
    this.logBytes = data.byteLength;
    const live = new Map<number, AddRecord & { bytes: number }>();
    for (const line of data.toString('utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as AddRecord | { g: number[] };
      if ('g' in r) for (const n of r.g) live.delete(n);
      else live.set(r.n, { ...r, bytes: Buffer.byteLength(line) + 1 });
      this.nextN = Math.max(this.nextN, ('n' in r ? r.n : 0) + 1);
    }
    const committed = [...live.values()].filter((r) => this.ctx.isCommitted(r.p));
    this.restored = committed;
    if (live.size) this.ctx.logger.info({ restored: committed.length, fromUncommittedBatches: live.size - committed.length }, 'correlate: held events restored');
    // The log is rewritten with what was restored: the rest comes again from the source.
    if (this.logBytes > 0) await this.rewrite(committed);
  }

  private async rewrite(records: AddRecord[]): Promise<void> {
    // Only the record's own fields (a restored record also carries its size).
    const text = records.map((r) => JSON.stringify({ n: r.n, e: r.e, p: r.p, t: r.t } satisfies AddRecord) + '\n').join('');
    await this.ctx.state.rewriteLog(LOG_KEY, Buffer.from(text));
    this.logBytes = this.liveBytes = Buffer.byteLength(text);
  }

  /**
   * Commit hook, before each checkpoint commit: appends the events that started being held (unless
   * already delivered in a committed batch), and the numbers of those delivered in a batch whose
   * positions are committed. (isCommitted reflects the commit before this one: conservative.)
   */
  private async persist(): Promise<void> {
    const lines: string[] = [];
    for (const h of this.unsaved) {
      // Already delivered in a committed batch: it never needs logging.
      if (h.log || (h.deliveredAt && this.ctx.isCommitted(h.deliveredAt))) continue;
      const line = JSON.stringify(recordOf(h, this.nextN)) + '\n';
      h.log = { n: this.nextN++, bytes: Buffer.byteLength(line) };
      this.liveBytes += h.log.bytes;
      lines.push(line);
    }
    this.unsaved = [];
    const gone: number[] = [];
    const pending: Held[] = [];
    for (const h of this.delivered) {
      if (!this.ctx.isCommitted(h.deliveredAt!)) pending.push(h);
      else if (h.log) {
        gone.push(h.log.n);
        this.liveBytes -= h.log.bytes;
      }
    }
    this.delivered = pending;
    if (gone.length) lines.push(JSON.stringify({ g: gone }) + '\n');
    if (lines.length === 0) return;
    const data = Buffer.from(lines.join(''));
    await this.ctx.state.append(LOG_KEY, data);
    this.logBytes += data.byteLength;
    if (this.logBytes > this.liveBytes * 2 + COMPACT_SLACK_BYTES) await this.compact();
  }

  /** Rewrites the log as the logged events that are still held or not yet delivered. */
  private async compact(): Promise<void> {
    const live: AddRecord[] = [];
    const add = (h: Held) => {
      if (h.log) live.push(recordOf(h, h.log.n));
    };
    for (const h of this.correlator.heldEvents()) add(h);
    for (const group of this.inflight) for (const h of group) add(h);
    for (const h of this.delivered) add(h);
    await this.rewrite(live);
  }

  /** Keeps released events owed until the receipt of the batch carrying them settles. */
  private track(out: Released, receipt: Receipt): void {
    if (out.held.length === 0) return;
    const group = out.held;
    this.inflight.add(group);
    const positions = receipt.positions;
    receipt.onSettled((error) => {
      if (error !== undefined) return;
      this.inflight.delete(group);
      for (const h of group) {
        h.deliveredAt = positions;
        this.delivered.push(h);
      }
    });
  }

  private warnEvicted(count: number): void {
    this.evictedSinceWarn += count;
    const now = Date.now();
    if (now - this.lastWarnMs < EVICTION_WARN_INTERVAL_MS) return;
    this.ctx.logger.warn({ evicted: this.evictedSinceWarn, maxPending: this.c.max_pending }, 'correlate: max_pending reached, oldest events released unmatched');
    this.evictedSinceWarn = 0;
    this.lastWarnMs = now;
  }

  apply = (input: Observable<Batch>): Observable<Batch> =>
    new Observable<Batch>((sub) => {
      const first: Released = { events: [], held: [] };
      for (const r of this.restored) this.correlator.accept(r.e, r.p, r.t, first, { n: r.n, bytes: r.bytes });
      this.restored = [];
      const emitOwn = (out: Released) => {
        if (out.events.length === 0) return;
        const receipt = operatorReceipt();
        this.track(out, receipt);
        sub.next({ events: out.events, receipt });
      };
      emitOwn(first);
      /** Emits, in a batch of the operator's own, what held events' windows closed by `nowMs`. */
      const closeWindows = (nowMs: number) => {
        const out: Released = { events: [], held: [] };
        this.correlator.expire(nowMs, out);
        emitOwn(out);
      };
      const tick = setInterval(() => closeWindows(Date.now()), Math.min(MAX_TICK_MS, Math.max(10, this.c.window / 4)));
      tick.unref();
      const inner = input.subscribe({
        next: (batch) => {
          const out: Released = { events: [], held: [] };
          const positions = batch.receipt.positions;
          const nowMs = Date.now();
          for (const e of batch.events) this.correlator.accept(e, positions, nowMs, out);
          this.correlator.expire(nowMs, out);
          const overflow = this.correlator.takeOverflow();
          if (overflow.events.length) {
            out.events.push(...overflow.events);
            out.held.push(...overflow.held);
            this.warnEvicted(overflow.events.length);
          }
          this.track(out, batch.receipt);
          sub.next(withDead(batch, out.events, undefined));
        },
        error: (err: unknown) => {
          clearInterval(tick);
          sub.error(err);
        },
        complete: () => {
          clearInterval(tick);
          // Under --once the input is over for good: every window closes now. Otherwise the held
          // events wait in the state store for the next run.
          if (this.ctx.once) closeWindows(Number.POSITIVE_INFINITY);
          sub.complete();
        },
      });
      return () => {
        clearInterval(tick);
        inner.unsubscribe();
      };
    });
}

/**
 * `correlate`: joins related events within a window, in bounded memory. The anchor is emitted
 * with its partners under `attributes.{as}` when a partner arrives (or, with `emit: window`,
 * when the window closes); an event whose partner never came leaves after the window, flagged
 * `attributes.correlation.unmatched`. Held events survive restarts through the state store.
 *
 * ```yaml
 * joined:
 *   type: correlate
 *   inputs: [plum]
 *   window: 2m
 *   rules:
 *     - name: session_detail           # a Plum session carries its errors and call details
 *       anchor: { kind: session, source: plum }
 *       partner: { kind: [error, call], source: plum }
 *       anchor_key: attributes.sessionId
 *       partner_key: attributes.sessionId
 *       emit: window
 *     - name: recording                # an iPlum recording joins the call on its number, within the call
 *       anchor: { kind: call, source: iplum }
 *       partner: { kind: recording }
 *       anchor_key: [from, to]
 *       partner_key: attributes.phoneNumber
 *       within_span: 30s
 * ```
 */
export const correlateOperator = defineOperator({
  type: 'correlate',
  description: 'Joins events to their partners (errors to sessions, recordings to calls) within a window; unmatched events leave flagged.',
  configSchema: correlateConfigSchema,
  async create(config, ctx) {
    const op = new CorrelateOperator(config, ctx);
    await op.load();
    return { apply: op.apply };
  },
});
