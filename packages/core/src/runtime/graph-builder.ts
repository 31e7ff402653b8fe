import { resolve } from 'node:path';
import { catchError, connectable, EMPTY, filter, merge, share, Subject, tap, type Connectable, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import type { Batch } from '../batch.js';
import type { Logger } from '../logger.js';
import type { Operator, Sink, Source } from '../plugin.js';
import { throwOnMisuse, type ReceiptMisuse } from '../receipt.js';
import { ComponentTelemetry } from '../telemetry.js';
import type { Clock } from '../util/clock.js';
import { SINK_BACKOFF } from '../util/backoff.js';
import { DEAD_LETTER_STREAM } from '../config/pipeline-schema.js';
import { UNMATCHED_OUTPUT } from '../operators/route/route-operator.js';
import { checkpointVersionOf } from './checkpoint-versions.js';
import type { CommitCoordinator } from './commit-coordinator.js';
import type { OutputTaps } from './output-taps.js';
import { DeadLetterFileSink } from './dead-letter.js';
import { DeadLetterRouter } from './dead-letter-router.js';
import type { DeadLetterLedger } from './dead-letter-ledger.js';
import type { ResolvedPipeline } from './resolve-pipeline.js';
import { SinkRunner, type SinkRunnerOptions } from './sink-runner.js';
import { sourceBatches } from './source-driver.js';
import { SourceTracker } from './source-tracker.js';

/** A component the runtime created, with its telemetry and logger. */
export interface Created<T> {
  id: string;
  instance: T;
  telemetry: ComponentTelemetry;
  /** The component's logger (its context's). */
  logger: Logger;
}

export interface GraphParts {
  definition: ResolvedPipeline;
  sources: readonly Created<Source>[];
  operators: readonly Created<Operator>[];
  sinks: readonly Created<Sink>[];
  commits: CommitCoordinator;
  logger: Logger;
  /** Registers the telemetry of a component the builder adds (the implicit dead-letter file). */
  addTelemetry: (telemetry: ComponentTelemetry) => void;
  /** An exactly-once sink takes part: trackers keep the writes of batches that settle without it. */
  atomic: boolean;
  /** Aborted when the sources must stop reading. */
  sourcesStop: AbortSignal;
  /** Aborted when in-flight work is given up (sink retries end). */
  hardStop: AbortSignal;
  fail: (error: unknown) => void;
  /** A receipt released too often throws (tests) instead of being logged and counted. */
  strictReceipts: boolean;
  /** What `Pipeline.output$` observes: every published output passes through it. */
  taps: OutputTaps;
  /** Counts and warns about every record a component refuses. */
  deadLetters: DeadLetterLedger;
  /** The pipeline's clock: sink retries and waits. */
  clock: Clock;
}

export interface Graph {
  /** Starts the sources. */
  connect(): void;
  /** Settles once every sink's runner ended (rejects with a runner's error). */
  finished: Promise<void>;
  /** The dead-letter file sink the builder added when no sink takes `dead_letter`. */
  implicitSinks: Created<Sink>[];
}

/**
 * Builds the RxJS graph of a pipeline: source streams driven by their trackers, operators on
 * their inputs, fan-out with one receipt reference per extra consumer, named outputs, the
 * dead-letter stream, and a runner per sink. Nothing flows until `connect()`.
 */
export class GraphBuilder {
  private readonly dead: DeadLetterRouter;
  private readonly streams = new Map<string, Observable<Batch>>();
  /** How many consumers each stream has: fan-out retains one receipt reference per extra consumer. */
  private readonly consumers = new Map<string, number>();
  private readonly connectables: Connectable<Batch>[] = [];

  constructor(private readonly p: GraphParts) {
    this.dead = new DeadLetterRouter(p.deadLetters, () => p.clock.now());
    for (const c of [...p.definition.transforms, ...p.definition.sinks]) for (const ref of c.inputs) this.consumers.set(ref, (this.consumers.get(ref) ?? 0) + 1);
  }

  build(): Graph {
    this.addSources();
    this.addOperators();
    const { runners, implicitSinks } = this.addSinks();
    // A side subscriber of the dead-letter subject: it shows what passes, holds no receipt.
    this.dead.stream.pipe(this.p.taps.tapInto(DEAD_LETTER_STREAM)).subscribe({ error: () => {} });
    this.dead.sealed();
    return {
      connect: () => {
        for (const c of this.connectables) c.connect();
      },
      finished: Promise.all(runners).then(() => {}),
      implicitSinks,
    };
  }

  /**
   * Makes `ref` the stream its consumers take. `warnUnconsumed`: an output nobody takes is worth a
   * warning (not a route's unnamed remainder, which no input may name, nor `_unmatched`, which a
   * route drops by design).
   */
  private publish(ref: string, output: Observable<Batch>, warnUnconsumed = true): void {
    const stream = output.pipe(this.p.taps.tapInto(ref));
    const k = this.consumers.get(ref) ?? 0;
    if (k === 0) {
      // Nobody takes this output: its batches count as done.
      stream.subscribe((b) => b.receipt.release());
      if (warnUnconsumed) this.p.logger.warn({ component: ref.split('.')[0], output: ref }, `output "${ref}" has no consumer; its events are discarded`);
      return;
    }
    this.streams.set(ref, k === 1 ? stream : stream.pipe(tap((b) => b.receipt.retain(k - 1)), share()));
  }

  private inputOf(refs: readonly string[]): Observable<Batch> {
    const parts = refs.map((r) => (r === DEAD_LETTER_STREAM ? this.dead.stream : this.streams.get(r)!));
    return parts.length === 1 ? parts[0]! : merge(...parts);
  }

  private addSources(): void {
    const { definition: def, commits } = this.p;
    for (const [i, c] of def.sources.entries()) {
      const created = this.p.sources[i]!;
      const tracker = new SourceTracker(c.id, commits.restored[c.id], def.settings.max_in_flight_batches, (_id, err) => this.p.fail(err), {
        onInFlightChange: (d) => created.telemetry.inFlight(d),
        onMisuse: this.misuse(created.telemetry),
        version: checkpointVersionOf(c.plugin),
        collectsOrphans: this.p.atomic,
      });
      commits.trackers.set(c.id, tracker);
      const restoredPosition = commits.restored[c.id]?.position ?? undefined;
      const base = connectable(sourceBatches(created.instance, restoredPosition, tracker, created.telemetry, this.p.sourcesStop), {
        connector: () => new Subject<Batch>(),
        resetOnDisconnect: false,
      });
      this.connectables.push(base);
      this.publish(c.id, base.pipe(this.dead.extractFrom(c.id, created.telemetry), this.failOnError(created.telemetry)));
    }
  }

  /**
   * An error of a source or operator stream: counted as the component's, and the pipeline fails;
   * the stream ends there (its consumers complete and drain what they hold). Placed after the
   * dead-letter extraction, so that an error there fails the pipeline too.
   */
  private failOnError(telemetry: ComponentTelemetry): MonoTypeOperatorFunction<Batch> {
    return catchError((err: unknown) => {
      telemetry.error(err);
      this.p.fail(err);
      return EMPTY;
    });
  }

  /** A receipt released too often: a bug in whoever released it. Counted as an error of the source and logged; thrown in tests. */
  private misuse(telemetry: ComponentTelemetry): ReceiptMisuse {
    return (receipt, problem) => {
      telemetry.error({ code: 'RECEIPT_RELEASED_TWICE', message: problem });
      this.p.logger.error({ code: 'RECEIPT_RELEASED_TWICE', source: receipt.source, seq: receipt.seq }, problem);
      if (this.p.strictReceipts) throwOnMisuse(receipt, problem);
    };
  }

  private addOperators(): void {
    for (const [i, c] of this.p.definition.transforms.entries()) {
      const created = this.p.operators[i]!;
      const t = created.telemetry;
      const out = this.inputOf(c.inputs).pipe(
        tap((b) => t.eventsIn(b.events.length)),
        created.instance.apply,
        tap((b) => t.eventsOut(b.events.length)),
        this.dead.extractFrom(c.id, t),
        this.failOnError(t),
      );
      const outputs = c.bound.outputs();
      if (outputs.length === 0) {
        this.publish(c.id, out);
        continue;
      }
      const shared = out.pipe(share());
      this.publish(c.id, shared.pipe(filter((b) => b.output === undefined)), false);
      for (const o of outputs) this.publish(`${c.id}.${o}`, shared.pipe(filter((b) => b.output === o)), o !== UNMATCHED_OUTPUT);
    }
  }

  private addSinks(): { runners: Promise<void>[]; implicitSinks: Created<Sink>[] } {
    const { definition: def } = this.p;
    const common: Omit<SinkRunnerOptions, 'deadLetter'> = { maxRetries: def.settings.sink_max_retries, backoff: SINK_BACKOFF, signal: this.p.hardStop, onFatal: (err: unknown) => this.p.fail(err), clock: this.p.clock };
    const runners: Promise<void>[] = [];
    let deadConsumed = false;
    for (const [i, c] of def.sinks.entries()) {
      const created = this.p.sinks[i]!;
      const takesDead = c.inputs.includes(DEAD_LETTER_STREAM);
      deadConsumed ||= takesDead;
      const producerDone = takesDead ? undefined : this.dead.addProducer();
      const runner = new SinkRunner(c.id, created.instance, created.telemetry, created.logger, {
        ...common,
        ...(created.instance.ownsCheckpoints ? { atomicWrites: this.p.commits.atomicWrites } : {}),
        deadLetter: takesDead
          ? (dead, batch) => {
              // A sink that writes dead letters cannot feed its own refusals back to itself.
              this.p.deadLetters.record(c.id, dead);
              created.logger.error({ count: dead.length, reason: dead[0]?.reason }, 'dead-letter sink refused records');
              batch.receipt.release();
            }
          : (dead, batch) => this.dead.send(c.id, dead, batch),
      });
      const finished = runner.consume(this.inputOf(c.inputs));
      runners.push(producerDone ? finished.finally(producerDone) : finished);
    }
    if (deadConsumed) return { runners, implicitSinks: [] };
    const implicit = this.deadLetterFile(common);
    runners.push(implicit.finished);
    return { runners, implicitSinks: [implicit.created] };
  }

  /** With no sink taking `dead_letter`, the dead letters go to `dead_letter.path` (NDJSON). */
  private deadLetterFile(common: Omit<SinkRunnerOptions, 'deadLetter'>): { created: Created<Sink>; finished: Promise<void> } {
    const telemetry = new ComponentTelemetry(DEAD_LETTER_STREAM, 'dead_letter_file', 'sink', this.p.clock);
    this.p.addTelemetry(telemetry);
    const sink = new DeadLetterFileSink(resolve(this.p.definition.deadLetterPath));
    const logger = this.p.logger.child({ component: DEAD_LETTER_STREAM });
    const runner = new SinkRunner(DEAD_LETTER_STREAM, sink, telemetry, logger, { ...common, deadLetter: (_dead, batch) => batch.receipt.release() });
    return { created: { id: DEAD_LETTER_STREAM, instance: sink, telemetry, logger }, finished: runner.consume(this.dead.stream) };
  }
}
