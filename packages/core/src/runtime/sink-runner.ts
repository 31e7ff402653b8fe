import type { Observable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { CallEvent, DeadLetter } from '../event.js';
import { isPlumlineError, isRetriable, PipelineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Sink, SinkBatch } from '../plugin.js';
import { sourceReceiptsOf, type SourceReceipt } from '../receipt.js';
import type { StagedWrite } from '../state/state-store.js';
import type { ComponentTelemetry } from '../telemetry.js';
import { backoffDelayMs, type BackoffPolicy } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';

/** Most batches one atomic write groups together. */
export const MAX_ATOMIC_GROUP_BATCHES = 64;
/**
 * How long an atomic write waits for the rest of a source batch (a branch still on its way, a
 * dead-letter write) before it writes what it has; the checkpoint then stops short of that batch.
 */
export const ATOMIC_GROUP_WAIT_MS = 1_000;
/**
 * Attempts at a write that fails with an error plumline does not know (not a PlumlineError:
 * most likely a bug, which a retry repeats) before the pipeline fails with it. Known transient
 * errors are retried as long as `sink_max_retries` allows (default: without end).
 */
export const UNKNOWN_ERROR_ATTEMPTS = 5;

export interface SinkRunnerOptions {
  /** -1: forever. */
  maxRetries: number;
  backoff: BackoffPolicy;
  /** Aborted on a hard stop: pending retries give up. */
  signal: AbortSignal;
  /** Where records the sink refused go, with the receipt they belong to (already retained). */
  deadLetter: (dead: readonly DeadLetter[], batch: Batch) => void;
  /** A write that cannot succeed: the pipeline fails. */
  onFatal: (error: unknown) => void;
  /** Where retry backoff and the atomic group's wait are timed. */
  clock: Clock;
  /**
   * For sinks that own checkpoints: the state writes to commit with a group of batches, given
   * the source batches that settle once the group is written (checkpoints after them, their
   * staged state, writes orphaned by batches that settled elsewhere).
   */
  atomicWrites?: (settling: readonly SourceReceipt[], all: readonly SourceReceipt[]) => StagedWrite[];
}

/**
 * Feeds a sink: writes non-empty batches in arrival order with up to `maxInFlight` writes
 * outstanding, retries retriable failures with backoff and jitter, and releases each batch's
 * receipt once the sink resolved it. Empty batches (everything filtered) are released at once.
 *
 * A sink that owns checkpoints (exactly-once) gets groups instead: every batch queued when it is
 * free, waiting for the other branches of the same source batches, written as one atomic unit
 * with the checkpoints after them. A fatal failure stops the line: batches queued behind it are
 * failed, never written.
 */
export class SinkRunner {
  private readonly queue: Batch[] = [];
  private inFlight = 0;
  private completed = false;
  private failed = false;
  private pumpScheduled = false;
  /** Wakes an atomic group waiting for the rest of its source batches: a batch was queued. */
  private arrived: (() => void) | undefined;
  private finishedResolve!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finishedResolve = resolve));

  constructor(
    readonly id: string,
    private readonly sink: Sink,
    private readonly telemetry: ComponentTelemetry,
    private readonly logger: Logger,
    private readonly options: SinkRunnerOptions,
  ) {}

  /** Subscribes to `input`; resolves once it completed and every write settled. */
  consume(input: Observable<Batch>): Promise<void> {
    input.subscribe({
      next: (batch) => {
        this.telemetry.eventsIn(batch.events.length);
        if (this.failed) {
          batch.receipt.fail(this.failedEarlier());
          return;
        }
        // An exactly-once sink stores checkpoints with its data, so it must see checkpoint-only batches too.
        if (batch.events.length === 0 && !this.sink.ownsCheckpoints) {
          batch.receipt.release();
          return;
        }
        this.queue.push(batch);
        this.arrived?.();
        if (this.sink.ownsCheckpoints) this.schedulePump();
        else this.pump();
      },
      error: (err) => {
        // Upstream failures are reported where they happen; here we only finish.
        this.logger.debug({ err }, 'input ended with an error');
        this.completed = true;
        this.maybeFinish();
      },
      complete: () => {
        this.completed = true;
        this.maybeFinish();
      },
    });
    return this.finished;
  }

  /** Atomic groups start a microtask later, so the branches of one source batch emitted together travel together. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.failed) this.failQueued();
    const max = this.sink.maxInFlight ?? 1;
    while (this.inFlight < max && this.queue.length > 0) {
      const group = this.sink.ownsCheckpoints ? this.queue.splice(0, MAX_ATOMIC_GROUP_BATCHES) : [this.queue.shift()!];
      this.inFlight++;
      this.telemetry.inFlight(1);
      const written = this.sink.ownsCheckpoints ? this.writeAtomicGroup(group) : this.writeWithRetry(group);
      void written.finally(() => {
        this.inFlight--;
        this.telemetry.inFlight(-1);
        this.pump();
        this.maybeFinish();
      });
    }
  }

  private failQueued(): void {
    this.failAll(this.queue.splice(0));
  }

  private failAll(batches: readonly Batch[]): void {
    const error = this.failedEarlier();
    for (const b of batches) b.receipt.fail(error);
  }

  /** What a batch that reaches the sink after it failed for good is failed with. */
  private failedEarlier(): PipelineError {
    return new PipelineError('SINK_FAILED', `sink ${this.id} failed earlier`, { fields: { component: this.id } });
  }

  /** Waits (bounded) until the group holds every outstanding reference of its source batches, then writes it whole. */
  private async writeAtomicGroup(group: Batch[]): Promise<void> {
    const deadline = this.options.clock.now() + ATOMIC_GROUP_WAIT_MS;
    let counts = referenceCounts(group);
    while (!covers(counts) && !this.failed && !this.options.signal.aborted) {
      const leftMs = deadline - this.options.clock.now();
      if (leftMs <= 0) break;
      await this.nextChange(counts.keys(), leftMs);
      if (this.queue.length && group.length < MAX_ATOMIC_GROUP_BATCHES) {
        group.push(...this.queue.splice(0, MAX_ATOMIC_GROUP_BATCHES - group.length));
        counts = referenceCounts(group);
      }
    }
    if (this.failed) {
      this.failAll(group);
      return;
    }
    const settling = [...counts].filter(([r, n]) => r.references <= n).map(([r]) => r);
    const writes = this.options.atomicWrites?.(settling, [...counts.keys()]) ?? [];
    return this.writeWithRetry(group, writes);
  }

  /** Resolves at the first of: a batch queued, a reference of `receipts` released (or settled), the stop given up on, `ms` passed. */
  private nextChange(receipts: Iterable<SourceReceipt>, ms: number): Promise<void> {
    const signal = this.options.signal;
    return new Promise<void>((resolve) => {
      const timer = this.options.clock.setTimeout(wake, ms);
      this.arrived = wake;
      for (const r of receipts) r.onceReleased(wake);
      signal.addEventListener('abort', wake, { once: true });
      function wake(): void {
        timer.cancel();
        signal.removeEventListener('abort', wake);
        resolve();
      }
    }).finally(() => (this.arrived = undefined));
  }

  private async writeWithRetry(group: readonly Batch[], writes?: StagedWrite[]): Promise<void> {
    const first = group[0]!;
    const events = group.length === 1 ? first.events : group.flatMap((b) => b.events);
    const positions = group.length === 1 ? first.receipt.positions : group.flatMap((b) => b.receipt.positions);
    for (let attempt = 0; ; attempt++) {
      // The write's traceparent travels with the batch so a sink can pass it on (the Kafka sink
      // puts it in each record's headers).
      const write = this.telemetry.startWrite(`${this.id} write`, { 'plumline.events': events.length, 'plumline.attempt': attempt + 1 });
      const traceparent = write.traceparent;
      try {
        const batch: SinkBatch = { events, positions, ...(traceparent ? { traceparent } : {}), ...(writes ? { commit: { writes } } : {}) };
        const result = await this.sink.write(batch);
        write.end();
        this.telemetry.recovered();
        const dead = result?.dead ?? [];
        this.telemetry.eventsOut(events.length - dead.length);
        if (dead.length) this.deadLetter(dead, group);
        for (const b of group) b.receipt.release();
        return;
      } catch (err) {
        write.end(err);
        this.telemetry.error(err, isRetriable(err));
        this.telemetry.failing(`write failed: ${(err as Error)?.message ?? String(err)}`);
        const retriable = isRetriable(err);
        const exhausted = (this.options.maxRetries >= 0 && attempt >= this.options.maxRetries) || (!isPlumlineError(err) && attempt + 1 >= UNKNOWN_ERROR_ATTEMPTS);
        if (!retriable || exhausted || this.options.signal.aborted) {
          this.failed = true;
          const error =
            // Any plumline error keeps its code (a plugin's own copy of core made it, too).
            isPlumlineError(err)
              ? err
              : new PipelineError('SINK_WRITE_FAILED', `sink ${this.id} could not write a batch${exhausted ? ` after ${attempt + 1} attempts` : ''}: ${(err as Error)?.message ?? String(err)}`, {
                  cause: err,
                  retriable: false,
                  fields: { component: this.id, attempts: attempt + 1 },
                });
          for (const b of group) b.receipt.fail(error);
          // Nothing queued behind a failed batch may be written: its checkpoint would pass the failure.
          this.failQueued();
          this.options.onFatal(error);
          return;
        }
        this.telemetry.retry(err);
        const delay = backoffDelayMs(attempt + 1, this.options.backoff);
        this.logger.warn({ err, attempt: attempt + 1, delayMs: delay }, 'sink write failed; retrying');
        try {
          await this.options.clock.sleep(delay, this.options.signal);
        } catch {
          // Hard stop while waiting: the next loop turn gives up.
        }
      }
    }
  }

  /** Hands refused records to the dead-letter output under the receipt of the batch each came in. */
  private deadLetter(dead: readonly DeadLetter[], group: readonly Batch[]): void {
    this.telemetry.deadLettered(dead.length);
    if (group.length === 1) {
      group[0]!.receipt.retain();
      this.options.deadLetter(dead, group[0]!);
      return;
    }
    const batchOf = new Map<CallEvent, Batch>();
    for (const b of group) for (const e of b.events) batchOf.set(e, b);
    const byBatch = new Map<Batch, DeadLetter[]>();
    for (const d of dead) {
      const b = batchOf.get(d.record as CallEvent) ?? group[0]!;
      const list = byBatch.get(b);
      if (list) list.push(d);
      else byBatch.set(b, [d]);
    }
    for (const [b, list] of byBatch) {
      b.receipt.retain();
      this.options.deadLetter(list, b);
    }
  }

  private maybeFinish(): void {
    if (this.completed && this.inFlight === 0 && this.queue.length === 0) this.finishedResolve();
  }
}

/** How many of the group's batches hold each source batch's receipt. */
function referenceCounts(group: readonly Batch[]): Map<SourceReceipt, number> {
  const counts = new Map<SourceReceipt, number>();
  for (const b of group) for (const r of sourceReceiptsOf(b.receipt)) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** True when the group holds every reference still out on its source batches. */
function covers(counts: ReadonlyMap<SourceReceipt, number>): boolean {
  for (const [r, n] of counts) if (r.references > n) return false;
  return true;
}
