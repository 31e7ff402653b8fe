import type { BatchPosition, CheckpointHold } from '@plumline/core';
import type { Held } from './correlator.js';

/** One checkpoint hold for the events of one input batch held in memory, dropped by the last of them. */
export class BatchHold {
  private count = 0;
  /**
   * @param order increases with every input batch: "first" among an event's parts is the part
   * whose batch came first, which never waits for a later batch (no cycle of holds).
   */
  constructor(
    private readonly hold: CheckpointHold,
    readonly order: number,
  ) {}
  take(): this {
    this.count++;
    return this;
  }
  drop(): void {
    if (--this.count === 0) this.hold.release();
  }
}

/**
 * The checkpoint holds of events correlate keeps in memory: one per input batch, taken by its
 * first held event and dropped by the last; and the holds that must wait for another batch to
 * be committed before they end (parts of an event that left under another batch's positions).
 */
export class HoldLedger {
  private current: BatchHold | undefined;
  private positions: readonly BatchPosition[] = [];
  private order = 0;
  /** Holds to drop once `after` is committed. */
  private deferred: { after: readonly BatchPosition[]; h: Held }[] = [];

  constructor(private readonly holdCheckpoint: (positions: readonly BatchPosition[]) => CheckpointHold) {}

  /** An input batch is being processed: holds taken from now on are on its positions. */
  beginBatch(positions: readonly BatchPosition[]): void {
    this.positions = positions;
    this.current = undefined;
    this.order++;
  }

  /** A reference to the hold on the input batch being processed (the hold is taken on first use). */
  take(): BatchHold {
    this.current ??= new BatchHold(this.holdCheckpoint(this.positions), this.order);
    return this.current.take();
  }

  /** Ends `h`'s reference to its batch's hold. */
  drop(h: Held): void {
    h.hold?.drop();
    h.hold = undefined;
  }

  /** Ends `h`'s reference once `after` is committed. */
  dropAfter(after: readonly BatchPosition[], h: Held): void {
    this.deferred.push({ after, h });
  }

  /** Ends the deferred references whose batch is committed now. */
  dropCommitted(isCommitted: (positions: readonly BatchPosition[]) => boolean): void {
    if (this.deferred.length === 0) return;
    const waiting: typeof this.deferred = [];
    for (const d of this.deferred) {
      if (isCommitted(d.after)) this.drop(d.h);
      else waiting.push(d);
    }
    this.deferred = waiting;
  }
}
