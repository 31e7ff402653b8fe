import { SourceReceipt, type ReceiptMisuse } from '../receipt.js';
import type { StagedWrite } from '../state/state-store.js';
import type { JsonValue } from '../util/json.js';
import { FIRST_CHECKPOINT_VERSION, withVersion } from './checkpoint-versions.js';

/** What is stored per source in the state store's `checkpoints` document. */
export interface StoredCheckpoint {
  /** Sequence number of the last batch covered. Sequence numbers keep growing across restarts. */
  seq: number;
  /** The source's own position after that batch (what `read` gets back). */
  position: JsonValue | null;
  /** The plugin's `checkpointVersion` the position is in; absent for version 1. */
  version?: number;
}

interface Pending {
  receipt: SourceReceipt;
  /** The position after the batch; undefined: unchanged by it. */
  position: JsonValue | null | undefined;
  /** The key of the position record the batch moves (see SourcePage.checkpointKey); undefined: the whole position. */
  key: string | undefined;
  settled: boolean;
  /** Event time (ms) of the batch's last event, for lag; NaN when unknown. */
  eventTimeMs: number;
}

/** What a {@link SourceTracker} is made with, besides its source, restored checkpoint, credit and failure callback. */
export interface SourceTrackerOptions {
  /** Told +1 per batch issued and -1 per batch settled (telemetry's in-flight count). */
  onInFlightChange?: (delta: number) => void;
  /** What a receipt released too often does (see ReceiptMisuse). */
  onMisuse?: ReceiptMisuse;
  /** The source plugin's checkpoint version, stored with every checkpoint. */
  version?: number;
  /** An atomic commit will take the writes staged on batches no atomic commit carried (see takeOrphanWrites). */
  collectsOrphans?: boolean;
}

/** Settled entries left at the head of `pending` before they are cut off (amortises the splice). */
const SETTLED_KEPT_MAX = 64;

/**
 * Per source: issues receipts with increasing sequence numbers, limits how many batches may be
 * in flight (credit), and advances the committable checkpoint only over a contiguous run of
 * settled batches, whatever order sinks acknowledge them in.
 *
 * Credit and checkpoint are separate: a batch stops counting against credit once it settled,
 * but an operator holding some of its events in memory (`correlate`) can keep the checkpoint
 * from passing it (`hold`) without stopping the source.
 */
export class SourceTracker {
  private readonly pending: Pending[] = [];
  private head = 0;
  /** Issued batches not settled yet: what credit counts. */
  private unsettled = 0;
  /** Holds by sequence number (a count: several operators, or several holds, may keep one batch). */
  private readonly holds = new Map<number, number>();
  private nextSeq: number;
  private committable: StoredCheckpoint;
  private creditWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private failure: unknown;
  /** Writes staged on batches that settled without an atomic commit carrying them (see takeOrphanWrites). */
  private orphans: StagedWrite[] = [];
  /**
   * The keyed record of `committable` while nobody outside was given it: keyed batches write into
   * it (O(1) per batch); once `checkpoint` handed it out, the next one copies it (once per commit,
   * not once per batch: a record of 10,000 tenants is a 10,000-key copy).
   */
  private ownRecord: Record<string, JsonValue> | undefined;
  /** An atomic commit will take the orphan writes (an exactly-once pipeline); otherwise they are dropped. */
  readonly collectsOrphans: boolean;
  private readonly onInFlightChange: (delta: number) => void;
  private readonly onMisuse: ReceiptMisuse | undefined;
  private readonly version: number;

  constructor(
    readonly sourceId: string,
    restored: StoredCheckpoint | undefined,
    private readonly maxInFlight: number,
    private readonly onFailure: (sourceId: string, error: unknown) => void,
    options: SourceTrackerOptions = {},
  ) {
    this.onInFlightChange = options.onInFlightChange ?? (() => {});
    this.onMisuse = options.onMisuse;
    this.version = options.version ?? FIRST_CHECKPOINT_VERSION;
    this.collectsOrphans = options.collectsOrphans ?? false;
    this.committable = restored ?? withVersion(0, null, this.version);
    this.nextSeq = this.committable.seq + 1;
  }

  /** Batches issued and not settled. */
  get inFlight(): number {
    return this.unsettled;
  }

  /**
   * Keeps the checkpoint from covering batch `seq` until the returned function is called (once;
   * later calls do nothing). A hold on a batch the checkpoint already covers is an error of the caller.
   */
  hold(seq: number): () => void {
    if (seq <= this.committable.seq) throw new Error(`hold on ${this.sourceId}#${seq}, which the checkpoint already covers`);
    this.holds.set(seq, (this.holds.get(seq) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = this.holds.get(seq)! - 1;
      if (n > 0) this.holds.set(seq, n);
      else {
        this.holds.delete(seq);
        this.advance();
      }
    };
  }

  /** The checkpoint every sink has durably passed. */
  get checkpoint(): StoredCheckpoint {
    // Handed out (to a commit, a view): the next keyed batch copies the record instead of writing into it.
    this.ownRecord = undefined;
    return this.committable;
  }

  /**
   * The checkpoint as it will be once the batches `settling` (sequence numbers) settle too:
   * what an exactly-once sink commits together with those batches' output.
   */
  checkpointAfter(settling: ReadonlySet<number>): StoredCheckpoint {
    // What this returns may be the committable checkpoint itself: handed out, like `checkpoint`.
    this.ownRecord = undefined;
    if (this.failure !== undefined) return this.committable;
    let cp = this.committable;
    const merged = new KeyedMerge();
    for (let i = this.head; i < this.pending.length; i++) {
      const e = this.pending[i]!;
      if (!(e.settled || settling.has(e.receipt.seq)) || this.holds.has(e.receipt.seq)) break;
      cp = withVersion(e.receipt.seq, merged.apply(cp.position, e), this.version);
    }
    return cp;
  }

  /**
   * Writes staged on batches that settled successfully without an atomic commit carrying them
   * (an operator dropped the batch whole): the next atomic commit carries them instead.
   */
  takeOrphanWrites(): StagedWrite[] {
    return this.orphans.length ? this.orphans.splice(0) : this.orphans;
  }

  /** A receipt for the next batch; `position` is where the source will be after it (undefined: unchanged). */
  /** Event time (ms) of the newest batch the committable checkpoint covers; NaN before any. */
  committedEventTimeMs = Number.NaN;

  issue(position: JsonValue | undefined, eventTimeMs = Number.NaN, key?: string): SourceReceipt {
    const seq = this.nextSeq++;
    const receipt = new SourceReceipt(this.sourceId, seq, (r, err) => this.settle(r, err), position, undefined, this.onMisuse);
    this.pending.push({ receipt, position, key: position === undefined ? undefined : key, settled: false, eventTimeMs });
    this.unsettled++;
    this.onInFlightChange(1);
    return receipt;
  }

  /** True while another batch may be issued. */
  hasCredit(): boolean {
    return this.inFlight < this.maxInFlight;
  }

  /** Resolves when fewer than `maxInFlight` batches are unacknowledged. */
  waitForCredit(): Promise<void> {
    if (this.hasCredit()) return Promise.resolve();
    return new Promise((resolve) => this.creditWaiters.push(resolve));
  }

  /** Resolves when every issued batch settled. */
  waitIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Wakes everyone waiting (used when stopping). */
  releaseWaiters(): void {
    const waiters = [...this.creditWaiters.splice(0), ...this.idleWaiters.splice(0)];
    for (const w of waiters) w();
  }

  get failed(): unknown {
    return this.failure;
  }

  private settle(receipt: SourceReceipt, error: unknown): void {
    if (error === undefined) {
      const staged = receipt.takeStaged();
      if (staged.length && this.collectsOrphans) this.orphans.push(...staged);
    } else {
      // The checkpoint never passes a failed batch: on restart it is read again.
      if (this.failure === undefined) {
        this.failure = error;
        this.onFailure(this.sourceId, error);
      }
    }
    const index = this.head + (receipt.seq - (this.pending[this.head]?.receipt.seq ?? receipt.seq));
    const entry = this.pending[index];
    if (!entry || entry.receipt !== receipt || entry.settled) return;
    entry.settled = true;
    this.unsettled--;
    this.onInFlightChange(-1);
    this.advance();
    if (this.creditWaiters.length && this.unsettled < this.maxInFlight) {
      const waiters = this.creditWaiters.splice(0);
      for (const w of waiters) w();
    }
    if (this.unsettled === 0 && this.idleWaiters.length) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** Moves the committable checkpoint over settled batches nothing holds. */
  private advance(): void {
    if (this.failure !== undefined) return;
    const merged = new KeyedMerge(this.ownRecord);
    while (this.head < this.pending.length && this.pending[this.head]!.settled && !this.holds.has(this.pending[this.head]!.receipt.seq)) {
      const e = this.pending[this.head++]!;
      this.committable = withVersion(e.receipt.seq, merged.apply(this.committable.position, e), this.version);
      this.ownRecord = merged.record;
      if (!Number.isNaN(e.eventTimeMs)) this.committedEventTimeMs = e.eventTimeMs;
    }
    // Drop settled entries soon: each holds its receipt, and a run of them is memory held per batch.
    if (this.head > SETTLED_KEPT_MAX && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * Applies batches' positions to a checkpoint's, in order: a whole position replaces it, a keyed
 * one replaces its key's entry. The record is copied at most once per run of batches, and not
 * at all when the tracker owns it (nobody was handed it since the last copy); the copy is never
 * one a commit already holds.
 */
class KeyedMerge {
  /** `owned`: a record nobody else holds, which the first keyed batch may write into. */
  constructor(public record: Record<string, JsonValue> | undefined = undefined) {}

  apply(current: JsonValue | null, e: Pick<Pending, 'position' | 'key'>): JsonValue | null {
    if (e.position === undefined) return current;
    if (e.key === undefined) {
      this.record = undefined;
      return e.position;
    }
    if (this.record === undefined || this.record !== current) {
      const base = current !== null && typeof current === 'object' && !Array.isArray(current) ? current : {};
      this.record = { ...base };
    }
    this.record[e.key] = e.position;
    return this.record;
  }
}
