import { finalize, map, Subject, type Observable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { DeadLetter } from '../event.js';
import type { ComponentTelemetry } from '../telemetry.js';
import { deadLetterEvent } from './dead-letter.js';
import type { DeadLetterLedger } from './dead-letter-ledger.js';

/**
 * The `dead_letter` stream: every component's refused records, as events, on one subject that
 * completes once every component that can produce them has completed. Each one is counted (and
 * warned about) in the ledger as it passes.
 */
export class DeadLetterRouter {
  readonly stream = new Subject<Batch>();
  /** Components that may still send dead letters. */
  private producers = 0;

  constructor(
    private readonly ledger: DeadLetterLedger,
    /** The pipeline's clock: a dead letter's `time`. */
    private readonly now: () => number,
  ) {}

  /** Sends `dead` (refused by `component`) under `batch`'s receipt, which the caller retained for it. */
  send(component: string, dead: readonly DeadLetter[], batch: Batch): void {
    this.ledger.record(component, dead);
    this.stream.next({ events: dead.map((d) => deadLetterEvent(d, component, this.now())), receipt: batch.receipt });
  }

  /**
   * Takes the dead letters a source or operator put on its batches (`batch.dead`) off them and
   * onto the stream. The component stops producing dead letters when its stream ends, however it
   * ends (what an error of it means is the runtime's to decide: GraphBuilder).
   */
  extractFrom(component: string, telemetry: ComponentTelemetry): (source: Observable<Batch>) => Observable<Batch> {
    this.producers++;
    return (source) =>
      source.pipe(
        map((b) => {
          if (!b.dead || b.dead.length === 0) return b;
          telemetry.deadLettered(b.dead.length);
          b.receipt.retain();
          this.send(component, b.dead, b);
          return b.output === undefined ? { events: b.events, receipt: b.receipt } : { events: b.events, receipt: b.receipt, output: b.output };
        }),
        finalize(() => this.producerDone()),
      );
  }

  /** A sink that does not take the stream may refuse records into it until its runner ends. */
  addProducer(): () => void {
    this.producers++;
    return () => this.producerDone();
  }

  /** Called once the graph is built: with no producer at all, the stream is complete. */
  sealed(): void {
    if (this.producers === 0) this.stream.complete();
  }

  private producerDone(): void {
    if (--this.producers === 0) this.stream.complete();
  }
}
