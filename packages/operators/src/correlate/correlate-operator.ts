import { Observable } from 'rxjs';
import { defineOperator, operatorReceipt, type Batch, type BatchPosition, type CallEvent, type OperatorContext, type Receipt } from '@plumline/core';
import { correlateConfigSchema, type CorrelateConfig } from './correlate-config.js';
import { Correlator, type Held, type Released } from './correlator.js';

/** State key of the held events. */
const STATE_KEY = 'held';
/** How often closed windows are looked for, at most (a quarter of the window when that is shorter). */
export const MAX_TICK_MS = 1_000;

interface StoredHeld {
  e: CallEvent;
  positions: BatchPosition[];
  ageMs: number;
}

/**
 * Joins events to their partners within a window, with the held events kept in the state store:
 * every commit writes the events still held or not yet delivered downstream, each with the
 * source positions it came from; a restart restores those whose positions are committed (the
 * others are read again from the source) and replays them through the same rules.
 */
class CorrelateOperator {
  private readonly correlator: Correlator;
  /** Released events whose output batch sinks have not finished with: still owed after a crash. */
  private readonly inflight = new Set<Held[]>();
  private restored: StoredHeld[] = [];

  constructor(
    private readonly c: CorrelateConfig,
    private readonly ctx: OperatorContext,
  ) {
    this.correlator = new Correlator(c);
    ctx.onCommit(() => this.persist());
  }

  async load(): Promise<void> {
    const stored = ((await this.ctx.state.get(STATE_KEY)) as StoredHeld[] | undefined) ?? [];
    this.restored = stored.filter((h) => this.ctx.isCommitted(h.positions));
    if (stored.length) this.ctx.logger.info({ restored: this.restored.length, fromUncommittedBatches: stored.length - this.restored.length }, 'correlate: held events restored');
  }

  private async persist(): Promise<void> {
    const now = Date.now();
    const all = [...this.correlator.heldEvents()];
    for (const group of this.inflight) all.push(...group);
    // Positions without their checkpoints: isCommitted needs only source and seq.
    const stored: StoredHeld[] = all.map((h) => ({ e: h.e, positions: h.positions.map((p) => ({ source: p.source, seq: p.seq })), ageMs: now - h.arrivedMs }));
    await this.ctx.state.set(STATE_KEY, stored as never);
  }

  /** Keeps released events owed until the receipt of the batch carrying them settles. */
  private track(out: Released, receipt: Receipt): void {
    if (out.held.length === 0) return;
    const group = out.held;
    this.inflight.add(group);
    receipt.onSettled((error) => {
      if (error === undefined) this.inflight.delete(group);
    });
  }

  apply = (input: Observable<Batch>): Observable<Batch> =>
    new Observable<Batch>((sub) => {
      const now = Date.now();
      const first: Released = { events: [], held: [] };
      for (const h of this.restored) this.correlator.accept(h.e, h.positions, now - h.ageMs, first);
      this.restored = [];
      const emitOwn = (out: Released) => {
        if (out.events.length === 0) return;
        const receipt = operatorReceipt();
        this.track(out, receipt);
        sub.next({ events: out.events, receipt });
      };
      emitOwn(first);
      const tick = setInterval(() => {
        const out: Released = { events: [], held: [] };
        this.correlator.expire(Date.now(), out);
        emitOwn(out);
      }, Math.min(MAX_TICK_MS, Math.max(10, this.c.window / 4)));
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
            this.ctx.logger.warn({ evicted: overflow.events.length, maxPending: this.c.max_pending }, 'correlate: max_pending reached, oldest events released unmatched');
          }
          this.track(out, batch.receipt);
          sub.next(batch.dead ? { events: out.events, receipt: batch.receipt, dead: batch.dead, ...(batch.output !== undefined ? { output: batch.output } : {}) } : { events: out.events, receipt: batch.receipt });
        },
        error: (err: unknown) => {
          clearInterval(tick);
          sub.error(err);
        },
        complete: () => {
          clearInterval(tick);
          // Under --once the input is over for good: every window closes now. Otherwise the held
          // events wait in the state store for the next run.
          if (this.ctx.once) {
            const out: Released = { events: [], held: [] };
            this.correlator.expire(Number.POSITIVE_INFINITY, out);
            emitOwn(out);
          }
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
