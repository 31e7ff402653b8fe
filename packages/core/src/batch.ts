import type { CallEvent, DeadLetter } from './event.js';
import type { Receipt } from './receipt.js';

/**
 * The unit that moves through a pipeline. Receipts, acknowledgements, checkpoints and sink
 * I/O happen once per batch. Operators return new batch objects rather than mutating
 * the one they got, because fan-out hands the same batch to several branches.
 */
export interface Batch {
  readonly events: readonly CallEvent[];
  readonly receipt: Receipt;
  /** Records that failed in the component that produced this batch; the runtime moves them to the dead-letter stream. */
  readonly dead?: readonly DeadLetter[];
  /** For multi-output operators (`route`): the named output this batch belongs to. */
  readonly output?: string;
}
