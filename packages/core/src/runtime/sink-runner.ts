import type { Observable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { DeadLetter } from '../event.js';
import { isRetriable, PipelineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Sink } from '../plugin.js';
import type { ComponentTelemetry } from '../telemetry.js';
import { backoffDelayMs, sleep, type BackoffPolicy } from '../util/backoff.js';

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
}

/**
 * Feeds a sink: writes non-empty batches in arrival order with up to `maxInFlight` writes
 * outstanding, retries retriable failures with backoff and jitter, and releases each batch's
 * receipt once the sink resolved it. Empty batches (everything filtered) are released at once.
 */
export class SinkRunner {
  private readonly queue: Batch[] = [];
  private inFlight = 0;
  private completed = false;
  private failed = false;
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
        // An exactly-once sink stores checkpoints with its data, so it must see checkpoint-only batches too.
        if ((batch.events.length === 0 && !this.sink.ownsCheckpoints) || this.failed) {
          if (this.failed) batch.receipt.fail(new PipelineError('SINK_FAILED', `sink ${this.id} failed earlier`));
          else batch.receipt.release();
          return;
        }
        this.queue.push(batch);
        this.pump();
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

  private pump(): void {
    const max = this.sink.maxInFlight ?? 1;
    while (this.inFlight < max && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inFlight++;
      this.telemetry.inFlight(1);
      void this.writeWithRetry(batch).finally(() => {
        this.inFlight--;
        this.telemetry.inFlight(-1);
        this.pump();
        this.maybeFinish();
      });
    }
  }

  private async writeWithRetry(batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // The write's traceparent travels with the batch so a sink can pass it on (the Kafka sink
      // puts it in each record's headers).
      const write = this.telemetry.startWrite(`${this.id} write`, { 'plumline.events': batch.events.length, 'plumline.attempt': attempt + 1 });
      const traceparent = write.traceparent;
      try {
        const result = await this.sink.write({ events: batch.events, positions: batch.receipt.positions, ...(traceparent ? { traceparent } : {}) });
        write.end();
        this.telemetry.recovered();
        const dead = result?.dead ?? [];
        this.telemetry.eventsOut(batch.events.length - dead.length);
        if (dead.length) {
          this.telemetry.deadLettered(dead.length);
          batch.receipt.retain();
          this.options.deadLetter(dead, batch);
        }
        batch.receipt.release();
        return;
      } catch (err) {
        write.end(err);
        this.telemetry.error();
        this.telemetry.failing(`write failed: ${(err as Error)?.message ?? String(err)}`);
        const retriable = isRetriable(err);
        const exhausted = this.options.maxRetries >= 0 && attempt >= this.options.maxRetries;
        if (!retriable || exhausted || this.options.signal.aborted) {
          this.failed = true;
          const error =
            err instanceof PipelineError
              ? err
              : new PipelineError('SINK_WRITE_FAILED', `sink ${this.id} could not write a batch${exhausted ? ` after ${attempt + 1} attempts` : ''}: ${(err as Error)?.message ?? String(err)}`, {
                  cause: err,
                  retriable: false,
                  fields: { component: this.id, attempts: attempt + 1 },
                });
          batch.receipt.fail(error);
          this.options.onFatal(error);
          return;
        }
        this.telemetry.retry();
        const delay = backoffDelayMs(attempt + 1, this.options.backoff);
        this.logger.warn({ err, attempt: attempt + 1, delayMs: delay }, 'sink write failed; retrying');
        try {
          await sleep(delay, this.options.signal);
        } catch {
          // Hard stop while waiting: the next loop turn gives up.
        }
      }
    }
  }

  private maybeFinish(): void {
    if (this.completed && this.inFlight === 0 && this.queue.length === 0) this.finishedResolve();
  }
}
