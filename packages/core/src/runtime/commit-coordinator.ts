import { StateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CheckpointHold, CommitInfo } from '../plugin.js';
import type { BatchPosition, SourceReceipt } from '../receipt.js';
import type { StagedWrite, StateStore } from '../state/state-store.js';
import type { ComponentTelemetry } from '../telemetry.js';
import { isJsonObject, type JsonValue } from '../util/json.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';
import type { SourceTracker, StoredCheckpoint } from './source-tracker.js';
import { checkpointsJson } from './stored-checkpoints.js';

/** The state key the checkpoints of every source are stored under. */
export const CHECKPOINTS_KEY = 'checkpoints';

/** At most this many rounds of final commit (see CommitCoordinator.commitFinal). */
const MAX_FINAL_COMMIT_ROUNDS = 8;

/**
 * Decides what is committed and when: the checkpoints every sink has durably passed, after the
 * operators persisted their state (commit hooks), on a timer and at the end; what an
 * exactly-once sink commits with a group of batches instead; and the holds operators put on
 * checkpoints. Components ask it whether a batch is committed.
 */
export class CommitCoordinator {
  private readonly hooks: ((info: CommitInfo) => Promise<void>)[] = [];
  /** The source trackers, by source id: the graph builder adds one per source. */
  readonly trackers = new Map<string, SourceTracker>();
  /** Sequence numbers covered by the last committed checkpoints. */
  private committedSeq: Record<string, number>;
  private committedPositions: Record<string, JsonValue | null>;
  private lastCommitted: string;
  /** The first checkpoint of this run that moved was logged (operators and crash tests watch for it). */
  private progressLogged = false;
  private chain: Promise<void> = Promise.resolve();
  private timer: Timer | undefined;
  private timerCommitRunning = false;
  /** Sources told of their durable checkpoints (Source.committed), by source id. */
  private readonly sourceListeners = new Map<string, (position: JsonValue) => Promise<void>>();
  /** Hears every stored set of checkpoints (Pipeline.committed$). */
  onStored: ((checkpoints: Record<string, StoredCheckpoint>) => void) | undefined;

  constructor(
    private readonly state: StateStore,
    /** The checkpoints found at start. */
    readonly restored: Record<string, StoredCheckpoint>,
    private readonly logger: Logger,
    private readonly telemetryOf: (id: string) => ComponentTelemetry | undefined,
    /** True when an exactly-once sink stores the checkpoints with its data (the plain commit must not write them too). */
    private readonly sinkOwnsCheckpoints: () => boolean,
    private readonly clock: Clock = systemClock,
  ) {
    this.lastCommitted = seqsOf(restored);
    this.committedSeq = Object.fromEntries(Object.entries(restored).map(([id, c]) => [id, c.seq]));
    this.committedPositions = Object.fromEntries(Object.entries(restored).map(([id, c]) => [id, c.position]));
  }

  /** OperatorContext.onCommit: hooks run before each commit, downstream first. */
  onCommit(hook: (info: CommitInfo) => Promise<void>): void {
    this.hooks.push(hook);
  }

  /** Source.committed: `listener` hears each durable checkpoint of source `id` that moved, one call at a time. */
  onSourceCommitted(id: string, listener: (position: JsonValue) => Promise<void>): void {
    this.sourceListeners.set(id, listener);
  }

  isCommitted = (positions: readonly BatchPosition[]): boolean =>
    positions.every((p) => {
      const committed = Object.hasOwn(this.committedSeq, p.source) ? this.committedSeq[p.source] : 0;
      // A seq that is not a number would compare false and read as "not committed": output removed on its word.
      if (typeof p.seq !== 'number' || typeof committed !== 'number') {
        throw new StateError('STATE_CORRUPT', `isCommitted: source "${p.source}" has no batch number to compare (batch ${String(p.seq)}, committed ${String(committed)}): refusing to answer rather than say "not committed"`, { retriable: false, fields: { component: p.source } });
      }
      return p.seq <= committed;
    });

  committedPosition(sourceId: string): JsonValue | undefined {
    return (this.committedPositions[sourceId] ?? undefined) as JsonValue | undefined;
  }

  /** Holds the checkpoints of the sources of `positions` (see OperatorContext.holdCheckpoint). */
  holdCheckpoint = (positions: readonly BatchPosition[]): CheckpointHold => {
    const releases: (() => void)[] = [];
    for (const p of positions) {
      const tracker = this.trackers.get(p.source);
      if (tracker) releases.push(tracker.hold(p.seq));
    }
    return { release: () => releases.forEach((r) => r()) };
  };

  /** The checkpoints of every source as they are now. */
  checkpoints(): Record<string, StoredCheckpoint> {
    return Object.fromEntries([...this.trackers].map(([id, t]) => [id, t.checkpoint]));
  }

  /**
   * What an exactly-once sink commits with a group of batches: the state staged on them, writes
   * orphaned by batches that settled without reaching the sink, and the checkpoints as they will
   * be once `settling` settle.
   */
  atomicWrites = (settling: readonly SourceReceipt[], all: readonly SourceReceipt[]): StagedWrite[] => {
    const seqs = new Map<string, Set<number>>();
    for (const r of settling) {
      let set = seqs.get(r.source);
      if (!set) seqs.set(r.source, (set = new Set()));
      set.add(r.seq);
    }
    const writes: StagedWrite[] = [];
    const checkpoints: Record<string, StoredCheckpoint> = { ...this.restored };
    for (const [id, tracker] of this.trackers) {
      writes.push(...tracker.takeOrphanWrites());
      checkpoints[id] = tracker.checkpointAfter(seqs.get(id) ?? new Set());
    }
    for (const r of all) writes.push(...r.takeStaged());
    writes.push({ kind: 'set', key: CHECKPOINTS_KEY, value: checkpointsJson(checkpoints) });
    return writes;
  };

  /**
   * Commits every `intervalMs`, one commit at a time: a slow store must not have a queue of
   * commits build up behind it. The loop holds the process open until `stopTimer` (a running
   * pipeline must not exit while every other wait is on a timer that does not).
   */
  startTimer(intervalMs: number, onError: (err: unknown) => void): void {
    this.timer = this.clock.setInterval(
      () => {
        if (this.timerCommitRunning) return;
        this.timerCommitRunning = true;
        void this.commit()
          .catch(onError)
          .finally(() => (this.timerCommitRunning = false));
      },
      intervalMs,
      { keepAlive: true },
    );
  }

  stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * The commits at the end: rounds until one stores nothing new. Holds that wait for a commit (an
   * operator's events that left under another batch's positions) end in the hooks of the next
   * one, so a round that moved the checkpoints is followed by one that lets them pass those holds;
   * a round that moved nothing told the hooks nothing new. Bounded: a hook that released a hold
   * at every round would otherwise keep the end from coming.
   */
  async commitFinal(): Promise<void> {
    for (let round = 0; round < MAX_FINAL_COMMIT_ROUNDS; round++) if (!(await this.commit(true))) return;
  }

  /**
   * Writes the checkpoints every sink has durably passed, after the operators persisted their
   * state. The checkpoints are taken before the hooks run (what the hooks persist covers them);
   * the final commit takes them again after, for the holds the hooks released.
   */
  commit(final = false): Promise<boolean> {
    const next = this.chain.then(() => this.commitBracketed(final));
    this.chain = next.then(() => {}, () => {});
    return next;
  }

  /** One commit, told to the store as begun and ended (see StateStore.commitStarted). */
  private async commitBracketed(final: boolean): Promise<boolean> {
    this.state.commitStarted?.();
    let ok = false;
    try {
      const moved = await this.commitOnce(final);
      ok = true;
      return moved;
    } finally {
      this.state.commitEnded?.(ok);
    }
  }

  private async commitOnce(final: boolean): Promise<boolean> {
    let snapshot = this.snapshot();
    // The hooks run even when the checkpoints did not move: an operator's holds may be what
    // keeps them, waiting for the hooks to see the last commit.
    // Downstream first (operators register in topological order): an operator that takes over
    // an event from one upstream (correlate after correlate) makes it durable before the
    // upstream one forgets it, so a crash between the two writes repeats it instead of losing it.
    const seqs = Object.fromEntries(Object.entries(snapshot).map(([id, c]) => [id, c.seq]));
    for (let i = this.hooks.length - 1; i >= 0; i--) await this.hooks[i]!({ final, seqs });
    if (final) snapshot = this.snapshot();
    // A source's checkpoint is a function of its sequence number: comparing those tells a
    // commit that moved nothing without serialising every position (10,000 tenants' are MBs).
    const text = seqsOf(snapshot);
    if (text === this.lastCommitted) return false;
    // An exactly-once sink stored these checkpoints with its data; writing them again could race it.
    if (!this.sinkOwnsCheckpoints()) await this.state.set(CHECKPOINTS_KEY, checkpointsJson(snapshot));
    const before = this.committedSeq;
    this.committed(snapshot, text);
    await this.tellSources(snapshot, before);
    return true;
  }

  /**
   * Tells each listening source its checkpoint that moved. What a source does with it (a Kafka
   * group's offsets) mirrors the stored checkpoint, which stays the truth: a failure is a warning.
   */
  private async tellSources(snapshot: Record<string, StoredCheckpoint>, before: Record<string, number>): Promise<void> {
    for (const [id, listener] of this.sourceListeners) {
      const c = snapshot[id];
      if (!c || c.seq === before[id] || c.position === null) continue;
      try {
        await listener(c.position);
      } catch (err) {
        this.logger.warn({ component: id, err }, 'source could not mirror its committed checkpoint');
      }
    }
  }

  private snapshot(): Record<string, StoredCheckpoint> {
    return { ...this.restored, ...this.checkpoints() };
  }

  /** Takes note of checkpoints that are now durable: lag, what isCommitted answers, the first-progress log line. */
  private committed(snapshot: Record<string, StoredCheckpoint>, text: string): void {
    const now = this.clock.now();
    for (const [id, tracker] of this.trackers) {
      const t = tracker.committedEventTimeMs;
      if (!Number.isNaN(t)) this.telemetryOf(id)?.checkpointLag((now - t) / 1000);
    }
    this.committedSeq = Object.fromEntries(Object.entries(snapshot).map(([id, c]) => [id, c.seq]));
    this.committedPositions = Object.fromEntries(Object.entries(snapshot).map(([id, c]) => [id, c.position]));
    this.lastCommitted = text;
    this.onStored?.(snapshot);
    if (!this.progressLogged && Object.entries(snapshot).some(([id, c]) => c.seq > (this.restored[id]?.seq ?? 0))) {
      this.progressLogged = true;
      this.logger.info({ checkpoints: loggableCheckpoints(snapshot) }, 'first checkpoint committed');
    }
  }
}

/** The sequence numbers of a set of checkpoints, as a comparable string. */
function seqsOf(checkpoints: Record<string, StoredCheckpoint>): string {
  return JSON.stringify(Object.entries(checkpoints).map(([id, c]) => [id, c.seq]));
}

/**
 * Checkpoints for a log line: a polling source's ids delivered within `lateness` (`@seen`, which
 * can run to thousands) are shown as a count per stream; a record of tenants' positions (a
 * source of many accounts, see SourcePage.checkpointKey) as how many tenants and the oldest
 * cursor among them (1,000 tenants' positions are ≈ 1 MB: never a log line).
 */
export function loggableCheckpoints(checkpoints: Record<string, StoredCheckpoint>): Record<string, StoredCheckpoint> {
  const out: Record<string, StoredCheckpoint> = {};
  for (const [id, c] of Object.entries(checkpoints)) {
    const record = isJsonObject(c.position) ? c.position : undefined;
    const tenants = record ? tenantsSummary(record) : undefined;
    if (tenants) {
      out[id] = { ...c, position: tenants };
      continue;
    }
    const seen = record ? (record['@seen'] as Record<string, unknown[][]> | undefined) : undefined;
    if (!seen) {
      out[id] = c;
      continue;
    }
    const counts = Object.fromEntries(Object.entries(seen).map(([stream, chunks]) => [stream, `${chunks.reduce((n, chunk) => n + chunk.length - 1, 0)} ids`]));
    out[id] = { ...c, position: { ...record, '@seen': counts } };
  }
  return out;
}

/** `{ tenants, oldest, oldestTenant }` for a record whose every entry is a tenant's own position object; undefined for anything else. */
function tenantsSummary(record: Record<string, unknown>): JsonValue | undefined {
  const names = Object.keys(record);
  if (names.length === 0 || names.some((k) => k.startsWith('@'))) return undefined;
  let oldest = Number.POSITIVE_INFINITY;
  let oldestTenant: string | undefined;
  for (const name of names) {
    const p = record[name];
    if (!p || typeof p !== 'object' || Array.isArray(p)) return undefined;
    for (const [k, v] of Object.entries(p)) {
      if (!k.startsWith('@') && typeof v === 'number' && v < oldest) {
        oldest = v;
        oldestTenant = name;
      }
    }
  }
  return oldestTenant === undefined ? { tenants: names.length } : { tenants: names.length, oldest, oldestTenant };
}
