import { Observable } from 'rxjs';
import { defineOperator, operatorReceipt, withDead, type Batch, type BatchPosition, type CallEvent, type CommitInfo, type OperatorContext, type Receipt } from '@plumline/core';
import { correlateConfigSchema, type CorrelateConfig } from './correlate-config.js';
import { Correlator, noneReleased, partnersOf, type Held, type Released } from './correlator.js';
import { HeldEventLog, type LogRecord } from './held-event-log.js';
import { HoldLedger, type BatchHold } from './hold-ledger.js';

/** How often closed windows are looked for, at most (a quarter of the window when that is shorter). */
export const MAX_TICK_MS = 1_000;
/** At most one warning about max_pending per this many milliseconds (with the count since the last). */
const EVICTION_WARN_INTERVAL_MS = 10_000;

/**
 * Joins events to their partners within a window. What it holds lives in memory under a
 * checkpoint hold on the batch it came from: after a crash the source reads it again. Events
 * held longer than `durable_after` (and all of them at a graceful stop) are written to a log in
 * the state store instead, so the checkpoint can move on; a restart replays the log and restores
 * the events whose positions are committed. The log is compacted when it outgrows what is live.
 *
 * An event made of held events leaves in a batch standing for the source batch of its oldest
 * part held in memory (the file sink keeps that write exactly when that batch's checkpoint is
 * committed, and the source reads the batch again exactly when it is not). The hold on that
 * batch ends when the output batch is delivered; holds on its other parts' batches end once
 * the first batch is committed (at once when a later batch of the same source: it cannot be
 * committed before the first anyway), so they never commit before it.
 *
 * Behind an exactly-once sink (`atomicCommits`) there are no holds: the log is written only in
 * the sink's transactions (see `atomic`), so what is held, what left and the checkpoint always
 * agree in what Kafka committed.
 */
class CorrelateOperator {
  private readonly correlator: Correlator;
  /**
   * Events held in memory only (not logged), in arrival order from `unsavedHead`. Released ones
   * are skipped, and dropped when the list is compacted: each commit visits only what became old
   * enough since the last one, plus a compaction now and then whose cost is bounded by the
   * entries added since the last (see `compactUnsaved`).
   */
  private unsaved: Held[] = [];
  private unsavedHead = 0;
  /** Entries left after the last compaction. */
  private unsavedAfterCompaction = 0;
  /**
   * Events of the input batch at hand that came in a batch standing for no source batch (an
   * upstream operator's own, e.g. an upstream correlate's logged events): nothing can be held for
   * them, so those still held when the batch is done are logged before its receipt may settle.
   */
  private orphans: Held[] = [];
  /** Where events held longer than `durable_after` are written down. */
  private readonly log: HeldEventLog;
  /** The checkpoint holds of the events held in memory only. */
  private readonly holds: HoldLedger;
  /**
   * Logged events whose output batch every sink finished with, until that batch's positions
   * are committed: a sink may drop uncommitted data on recovery (the file sink does), so until
   * then the event is still owed after a crash and must stay in the log.
   */
  private delivered: Held[] = [];
  /** Released events whose output batch sinks have not finished with: still owed after a crash. */
  private readonly inflight = new Set<Held[]>();

  /** Records restored by `load`, with their size in the log, replayed when the operator is subscribed. */
  private restored: (LogRecord & { bytes: number })[] = [];
  private evictedSinceWarn = 0;
  /**
   * Behind an exactly-once sink: held events are logged in the transaction of the batch they
   * came in, and their "gone" lines in the transaction of the batch that carries them out, so the
   * checkpoint may pass them and a crash anywhere neither loses nor repeats one.
   */
  private readonly atomic: boolean;
  private lastWarnMs = 0;

  constructor(
    private readonly c: CorrelateConfig,
    private readonly ctx: OperatorContext,
  ) {
    this.atomic = ctx.atomicCommits;
    this.correlator = new Correlator(c, (h) => {
      if (h.log) return;
      // Exactly-once: every event still held when its batch is done is logged in that batch's
      // transaction (no checkpoint holds), like an event from no source batch.
      if (this.atomic || h.positions.length === 0) {
        this.orphans.push(h);
        return;
      }
      h.hold = this.holds.take();
      this.unsaved.push(h);
    });
    this.log = new HeldEventLog(ctx.state, ctx.logger, ctx.id, ctx.atomicCommits);
    this.holds = new HoldLedger(ctx.holdCheckpoint);
    ctx.onCommit((info) => this.persist(info));
  }

  async load(): Promise<void> {
    this.restored = await this.log.load(this.ctx.isCommitted);
  }

  /**
   * Logs the orphans of the input batch at hand that are still held, keeping the batch's receipt
   * until they are durable: upstream, the batch counts as delivered once it settles (an upstream
   * correlate then forgets the events), so they must be in this log by then.
   */
  private logOrphans(receipt: Receipt): void {
    const lines: string[] = [];
    for (const h of this.orphans) if (!h.released && !h.log) lines.push(this.log.line(h));
    this.orphans = [];
    if (lines.length === 0) return;
    if (this.atomic) {
      this.ctx.stage(receipt, this.log.staged(lines));
      return;
    }
    receipt.retain();
    this.log.append(lines).then(
      () => receipt.release(),
      (err: unknown) => receipt.fail(err),
    );
  }

  /**
   * Commit hook, before each checkpoint commit: drops the holds whose first batch is committed,
   * logs the events held in memory for longer than `durable_after` (all of them at the final
   * commit) and drops their holds, and logs the numbers of logged events delivered in a batch
   * whose positions are committed. (isCommitted reflects the commit before this one: conservative.)
   */
  private async persist(info: CommitInfo): Promise<void> {
    // Exactly-once: the log is written (and compacted) in the sinks' transactions only.
    if (this.atomic) return;
    this.holds.dropCommitted(this.ctx.isCommitted);
    const lines: string[] = [];
    const cutoffMs = info.final ? Number.POSITIVE_INFINITY : this.ctx.clock.now() - this.c.durable_after;
    // Events held long enough are logged (their hold ends); released ones are passed (their hold
    // ends with the batch that carried them out). The list is in arrival order: the walk stops at
    // the first event still young enough to stay in memory.
    const unsaved = this.unsaved;
    let i = this.unsavedHead;
    for (; i < unsaved.length; i++) {
      const h = unsaved[i]!;
      if (h.released) continue;
      if (h.arrivedMs > cutoffMs && h.hold) break;
      lines.push(this.log.line(h));
      this.holds.drop(h);
    }
    this.unsavedHead = i;
    this.compactUnsaved();
    const left: Held[] = [];
    const pending: Held[] = [];
    for (const h of this.delivered) (this.ctx.isCommitted(h.log!.deliveredAt!) ? left : pending).push(h);
    this.delivered = pending;
    const gone = this.log.goneLine(left);
    if (gone) lines.push(gone);
    if (lines.length) await this.log.append(lines, () => this.liveEvents());
    // How much of the log the checkpoints about to be committed cover: checked at the next start.
    await this.log.storeHead();
  }

  /**
   * Drops the passed head and the released entries of `unsaved` once it holds a quarter more
   * entries (and 4,096) than after the last compaction: amortized a few steps per held event, and
   * released events (with their events) are kept from the garbage collector only that long.
   */
  private compactUnsaved(): void {
    const size = this.unsaved.length - this.unsavedHead;
    if (size === 0) {
      this.unsaved = [];
      this.unsavedHead = 0;
      this.unsavedAfterCompaction = 0;
      return;
    }
    if (this.unsaved.length <= this.unsavedAfterCompaction * 1.25 + 4096) return;
    const kept: Held[] = [];
    for (let i = this.unsavedHead; i < this.unsaved.length; i++) if (!this.unsaved[i]!.released) kept.push(this.unsaved[i]!);
    this.unsaved = kept;
    this.unsavedHead = 0;
    this.unsavedAfterCompaction = kept.length;
  }

  /** Every event still owed: held, carried out in a batch sinks have not finished with, or delivered but not committed. */
  private *liveEvents(): Iterable<Held> {
    yield* this.correlator.heldEvents();
    for (const group of this.inflight) yield* group;
    yield* this.delivered;
  }

  /**
   * Keeps the parts of released events owed until the receipt of the batch carrying them
   * settles: logged parts then wait for that batch to be committed before leaving the log;
   * parts held in memory drop their hold (those of `first`'s batch at once, others once it is committed).
   */
  private track(parts: Held[], receipt: Receipt, first: readonly BatchPosition[] | undefined): void {
    if (parts.length === 0) return;
    this.inflight.add(parts);
    const positions = receipt.positions;
    if (this.atomic) {
      const gone = this.log.goneLine(parts);
      if (gone) this.ctx.stage(receipt, this.log.staged([gone]));
    }
    receipt.onSettled((error) => {
      // A failed batch fails the pipeline: nothing may pass it.
      if (error !== undefined) return;
      this.inflight.delete(parts);
      if (this.atomic) return;
      for (const h of parts) {
        if (h.log) {
          h.log.deliveredAt = positions;
          this.delivered.push(h);
        } else if (h.hold) {
          if (h.positions === first || commitsAfter(h.positions, first!)) this.holds.drop(h);
          else this.holds.dropAfter(first!, h);
        }
      }
    });
  }

  /**
   * Sends what left the correlator: events that were never held, and those whose parts all came
   * in `current` (or are all logged), with the input batch (`carry`); the others in batches of
   * their own, one per source batch of their first part held in memory.
   */
  private emit(out: Released, current: readonly BatchPosition[] | undefined, carry: (events: CallEvent[], parts: Held[]) => void, send: (b: Batch) => void): void {
    const mine: CallEvent[] = [];
    const mineParts: Held[] = [];
    const groups = new Map<readonly BatchPosition[], { events: CallEvent[]; parts: Held[] }>();
    for (let i = 0; i < out.events.length; i++) {
      const made = out.parts[i];
      const e = out.events[i]!;
      if (!made) {
        mine.push(e);
        continue;
      }
      // The part held in memory whose batch came first: the event leaves standing for that batch.
      const partners = partnersOf(made);
      let firstHold = made.hold as BatchHold | undefined;
      let first = firstHold && made.positions;
      for (const h of partners) {
        const hold = h.hold as BatchHold | undefined;
        if (hold && (firstHold === undefined || hold.order < firstHold.order)) {
          firstHold = hold;
          first = h.positions;
        }
      }
      if (first === undefined ? current !== undefined : first === current) {
        mine.push(e);
        pushParts(mineParts, made, partners);
        continue;
      }
      // Parts that came in this batch and left at once were never held: their batch must not be
      // committed before `first` either (it may be another source's). (Outside an input batch —
      // a window closing — no part is fresh: each has a hold, a log entry, or no source batch.)
      if (first !== undefined && current !== undefined) {
        this.holdIfFresh(made, current);
        for (const h of partners) this.holdIfFresh(h, current);
      }
      const key = first ?? NO_POSITIONS;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { events: [], parts: [] }));
      g.events.push(e);
      pushParts(g.parts, made, partners);
    }
    for (const [positions, g] of groups) {
      const receipt = operatorReceipt(positions);
      this.track(g.parts, receipt, positions === NO_POSITIONS ? undefined : positions);
      send({ events: g.events, receipt });
    }
    carry(mine, mineParts);
  }

  /** Takes a hold on the batch at hand for a part of it that left at once (see `emit`). */
  private holdIfFresh(h: Held, current: readonly BatchPosition[]): void {
    if (!h.hold && !h.log && h.positions === current) h.hold = this.holds.take();
  }

  private warnEvicted(count: number): void {
    this.evictedSinceWarn += count;
    const now = this.ctx.clock.now();
    if (now - this.lastWarnMs < EVICTION_WARN_INTERVAL_MS) return;
    this.ctx.logger.warn({ evicted: this.evictedSinceWarn, maxPending: this.c.max_pending }, 'correlate: max_pending reached, oldest events released unmatched');
    this.evictedSinceWarn = 0;
    this.lastWarnMs = now;
  }

  apply = (input: Observable<Batch>): Observable<Batch> =>
    new Observable<Batch>((sub) => {
      const send = (b: Batch) => sub.next(b);
      /** Emits, in batches of the operator's own, what was released outside any input batch. */
      const emitOwn = (out: Released) =>
        this.emit(out, undefined, (events, parts) => {
          if (events.length === 0) return;
          const receipt = operatorReceipt();
          this.track(parts, receipt, undefined);
          send({ events, receipt });
        }, send);
      const first = noneReleased();
      for (const r of this.restored) this.correlator.accept(r.e, r.p, r.t, first, { n: r.n, bytes: r.bytes });
      this.restored = [];
      emitOwn(first);
      this.ctx.telemetry.holding('events', this.correlator.pending);
      /** Emits what held events' windows closed by `nowMs`. */
      const closeWindows = (nowMs: number) => {
        const out = noneReleased();
        this.correlator.expire(nowMs, out);
        emitOwn(out);
        this.ctx.telemetry.holding('events', this.correlator.pending);
      };
      const tick = this.ctx.clock.setInterval(() => closeWindows(this.ctx.clock.now()), Math.min(MAX_TICK_MS, Math.max(10, this.c.window / 4)));
      const inner = input.subscribe({
        next: (batch) => {
          const out = noneReleased();
          const positions = batch.receipt.positions;
          const nowMs = this.ctx.clock.now();
          // Exactly-once: compacted in this batch's transaction, first among its writes. Events on
          // their way out are left out: their "gone" lines commit before (or fail the pipeline).
          const rewrite = this.atomic ? this.log.stagedRewrite(() => this.correlator.heldEvents()) : undefined;
          if (rewrite) {
            this.ctx.stage(batch.receipt, rewrite);
            this.ctx.logger.debug({ bytes: rewrite.kind === 'rewrite' ? rewrite.data.byteLength : 0 }, 'correlate: held-event log compacted in the transaction of the batch at hand');
          }
          this.holds.beginBatch(positions);
          for (const e of batch.events) this.correlator.accept(e, positions, nowMs, out);
          this.correlator.expire(nowMs, out);
          const overflow = this.correlator.takeOverflow();
          if (overflow.events.length) {
            for (let i = 0; i < overflow.events.length; i++) {
              out.events.push(overflow.events[i]!);
              out.parts.push(overflow.parts[i]);
            }
            this.warnEvicted(overflow.events.length);
          }
          // Before the batch goes on: downstream may release it at once.
          this.logOrphans(batch.receipt);
          this.emit(out, positions, (events, parts) => {
            this.track(parts, batch.receipt, positions);
            send(withDead(batch, events, undefined));
          }, send);
          this.ctx.telemetry.holding('events', this.correlator.pending);
        },
        error: (err: unknown) => {
          tick.cancel();
          sub.error(err);
        },
        complete: () => {
          tick.cancel();
          // Under --once the input is over for good: every window closes now. Otherwise the held
          // events wait (logged at the final commit) for the next run.
          if (this.ctx.once) closeWindows(Number.POSITIVE_INFINITY);
          sub.complete();
        },
      });
      return () => {
        tick.cancel();
        inner.unsubscribe();
      };
    });
}

/** True when `later` cannot be committed before `first`: each of its positions follows one of `first`'s in the same source. */
const commitsAfter = (later: readonly BatchPosition[], first: readonly BatchPosition[]): boolean =>
  later.every((l) => first.some((f) => f.source === l.source && f.seq <= l.seq));

/** Adds `made` and its partners to `to`. */
function pushParts(to: Held[], made: Held, partners: readonly Held[]): void {
  to.push(made);
  for (const p of partners) to.push(p);
}

/** Group key for events whose parts are all logged: their batch stands for no source batch. */
const NO_POSITIONS: readonly BatchPosition[] = [];

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
  // An anchor and its partners must reach one worker: the topic keyed by the field they join on.
  partitionKey: (config) => {
    const fields = [...new Set(config.rules.flatMap((r) => [...r.anchor_key, ...r.partner_key]))];
    return { fields, perPartition: config.per_partition, configKey: 'rules', anyOf: true };
  },
  async create(config, ctx) {
    const op = new CorrelateOperator(config, ctx);
    await op.load();
    // Behind an exactly-once sink nothing is held under a checkpoint hold (see `atomic`).
    // What it emits is either an event it passes on once (no rule holds it) or a new copy of a held
    // one with new attributes (its partners nested in it stay shared with what it holds).
    return { apply: op.apply, holdsEvents: !ctx.atomicCommits, handsOverEvents: true };
  },
});
