import { PipelineError } from './errors.js';
import type { StagedWrite } from './state/state-store.js';

/** Identifies one source batch durably: the source component's id and its sequence number. */
export interface BatchPosition {
  readonly source: string;
  readonly seq: number;
  /** The source's position after this batch (what its checkpoint becomes once the batch is delivered). */
  readonly checkpoint?: unknown;
}

/**
 * The acknowledgement handle that travels with a batch. Every holder of a batch owns one
 * reference; the source's checkpoint may advance past the batch only when every reference
 * was released. Fan-out retains one reference per extra branch; a sink releases its
 * reference once the batch is durable; an operator that drops a batch releases it.
 */
export interface Receipt {
  /** Source batches this receipt stands for (one, or several for a joined batch). */
  readonly positions: readonly BatchPosition[];
  /** Adds `count` references. Call before handing the batch to extra holders. */
  retain(count?: number): void;
  /** Drops one reference: this holder is done with the batch, successfully. */
  release(): void;
  /** The batch cannot be delivered. Settles the receipt with `error`; the checkpoint never passes it. */
  fail(error: unknown): void;
  /** Calls `listener` once when the receipt settles: with no argument on success, with the error on failure. */
  onSettled(listener: (error?: unknown) => void): void;
  /**
   * Adds a state write that must commit together with this batch. Operators call it through
   * `OperatorContext.stage` (which scopes the key), never directly. An exactly-once sink commits
   * it with the batch's records; if the batch settles without reaching one, the runtime adds it
   * to the next atomic commit.
   */
  stage(write: StagedWrite): void;
}

type Listener = (error?: unknown) => void;

/**
 * Called when a receipt is released after every reference was: a holder released it more often
 * than it was retained, so the batch counted as delivered (and its checkpoint may have passed)
 * before every holder was done with it.
 */
export type ReceiptMisuse = (receipt: { readonly source: string; readonly seq: number }, problem: string) => void;

/** Under a test runner (`VITEST` set, or `NODE_ENV=test`) a misused receipt throws where it happened. */
export const STRICT_RECEIPTS = process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';

/** The strict reaction: a bug in the component that released, failed as one. */
export const throwOnMisuse: ReceiptMisuse = (receipt, problem) => {
  throw new PipelineError('RECEIPT_RELEASED_TWICE', problem, { retriable: false, fields: { source: receipt.source, seq: receipt.seq } });
};

/** @internal The receipt of one source batch. */
export class SourceReceipt implements Receipt {
  readonly positions: readonly BatchPosition[];
  private refs = 1;
  private settled = false;
  private error: unknown = undefined;
  private listeners: Listener[] | undefined;
  /** Told once at the next release of a reference (or settlement): see `onceReleased`. */
  private releaseWaiters: (() => void)[] | undefined;
  /** Writes staged on this batch and not committed yet. */
  private stagedWrites: StagedWrite[] | undefined;

  constructor(
    readonly source: string,
    readonly seq: number,
    private readonly onSettle: (receipt: SourceReceipt, error?: unknown) => void,
    checkpoint?: unknown,
    /** The positions it stands for when it is not a source batch's own (an operator's receipt). */
    standsFor?: readonly BatchPosition[],
    /** What a release after every reference was does. Default: throw under a test runner, else nothing. */
    private readonly onMisuse: ReceiptMisuse = STRICT_RECEIPTS ? throwOnMisuse : () => {},
  ) {
    this.positions = standsFor ?? [checkpoint === undefined ? { source, seq } : { source, seq, checkpoint }];
  }

  retain(count = 1): void {
    if (this.settled) throw new Error(`receipt ${this.source}#${this.seq} retained after it settled`);
    this.refs += count;
  }

  release(): void {
    if (this.settled) {
      // After a failure every holder still releases its reference; after success none is left.
      if (this.error === undefined) this.onMisuse(this, `receipt ${this.source}#${this.seq} released after every reference was: a holder released it twice, so the batch counted as delivered before every holder was done`);
      return;
    }
    if (--this.refs === 0) this.settle(undefined);
    else this.tellReleased();
  }

  /** @internal Calls `listener` once, at the next reference released or at settlement (an exactly-once sink's group waits for its other branches). */
  onceReleased(listener: () => void): void {
    if (this.settled) listener();
    else (this.releaseWaiters ??= []).push(listener);
  }

  private tellReleased(): void {
    const waiters = this.releaseWaiters;
    this.releaseWaiters = undefined;
    if (waiters) for (const w of waiters) w();
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settle(error ?? new Error('batch failed'));
  }

  onSettled(listener: Listener): void {
    if (this.settled) {
      listener(this.error);
      return;
    }
    (this.listeners ??= []).push(listener);
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** @internal References not released yet. */
  get references(): number {
    return this.settled ? 0 : this.refs;
  }

  stage(write: StagedWrite): void {
    (this.stagedWrites ??= []).push(write);
  }

  /** @internal Takes the staged writes (an atomic commit is about to carry them). */
  takeStaged(): StagedWrite[] {
    const w = this.stagedWrites ?? [];
    this.stagedWrites = undefined;
    return w;
  }

  private settle(error: unknown): void {
    this.settled = true;
    this.error = error;
    this.onSettle(this, error);
    this.tellReleased();
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l(error);
  }
}

/** A receipt standing for several others, for operators that join events from many batches. */
class CompositeReceipt implements Receipt {
  readonly positions: readonly BatchPosition[];
  constructor(private readonly parts: readonly Receipt[]) {
    this.positions = parts.flatMap((p) => p.positions);
  }
  sourceReceipts(): SourceReceipt[] {
    return this.parts.flatMap(sourceReceiptsOf);
  }
  retain(count = 1): void {
    for (const p of this.parts) p.retain(count);
  }
  release(): void {
    for (const p of this.parts) p.release();
  }
  fail(error: unknown): void {
    for (const p of this.parts) p.fail(error);
  }
  stage(write: StagedWrite): void {
    this.parts[0]?.stage(write);
  }
  onSettled(listener: Listener): void {
    let remaining = this.parts.length;
    let firstError: unknown;
    if (remaining === 0) {
      listener();
      return;
    }
    for (const p of this.parts) {
      p.onSettled((error) => {
        if (error !== undefined && firstError === undefined) firstError = error;
        if (--remaining === 0) listener(firstError);
      });
    }
  }
}

/** @internal The source receipts a receipt stands for (itself, or a composite's parts). */
export function sourceReceiptsOf(receipt: Receipt): SourceReceipt[] {
  if (receipt instanceof SourceReceipt) return [receipt];
  if (receipt instanceof CompositeReceipt) return receipt.sourceReceipts();
  return [];
}

/**
 * Combines receipts into one that an operator emitting a joined batch can pass on.
 * The caller hands over one reference of each part to the result.
 */
export function combineReceipts(receipts: readonly Receipt[]): Receipt {
  if (receipts.length === 1) return receipts[0]!;
  return new CompositeReceipt(receipts);
}

/**
 * A receipt for a batch an operator emits on its own — events it held, released when a window
 * closes, as `correlate` does. No checkpoint waits on it; `onSettled` tells the operator when
 * every sink is done with the batch. `positions` names the source batches its events came from
 * (sinks that keep writes only as far as the committed checkpoints reach, like the file sink,
 * then treat it as those batches' data); none when its events are durable in the operator's state.
 */
export function operatorReceipt(positions: readonly BatchPosition[] = []): Receipt {
  return new SourceReceipt('', 0, () => {}, undefined, positions);
}

/** A receipt that tracks nothing: for batches built outside a pipeline (tests, tools). */
export function detachedReceipt(): Receipt {
  return new SourceReceipt('detached', 0, () => {});
}
