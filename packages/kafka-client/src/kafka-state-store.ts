import { defineStateStore, isPlumlineError, PlumlineError, StateError, z, type AtomicStateStore, type AtomicTarget, type JsonValue, type Logger, type StagedWrite } from '@plumline/core';
import { diffEntries, fromEntries, stateCorrupt, systemClock, toEntries, type Clock, type Entries, type Timer } from '@plumline/core/util';
import { randomUUID } from 'node:crypto';
import kafkajs from './kafkajs-client.js';
import { assertReadCommittedFilter } from './read-committed-filter.js';
import { kafkaClientConfig, kafkaConnectionProblems, kafkaConnectionShape } from './kafka-connection.js';
import { createProducer, kafkaDriverSchema, type KafkaAtomicHandle, type KafkaProducer, type KafkaTransaction } from './producer-driver.js';
import { createTopicsRacing } from './create-topics.js';
import { isFenced, LoggedRefusals, notAuthorized, UNSEEN_TOPIC_HINT } from './kafka-errors.js';
import { kafkaTenantSpread } from './kafka-tenant-spread.js';
import { endOffsets, readCommittedToEnd, type EndOffsets } from './read-committed-to-end.js';

/** Largest chunk of a log per record: under the broker's default message.max.bytes. */
const CHUNK_BYTES = 512 * 1024;
/** A record larger than this goes in a request of its own: the broker's size limit applies to a whole record batch. */
const OWN_REQUEST_BYTES = 64 * 1024;
export const DEFAULT_STATE_TOPIC = 'plumline-state';
/** The key of a worker's claim on its pipeline; not a key the engine or an operator uses. */
const OWNER_KEY = '@owner';
/**
 * Each transaction also writes a marker of its own under this key: when a commit's answer is lost
 * (the broker took it and went away), the marker in the committed state says whether it landed.
 */
const COMMIT_KEY = '@commit';
/** Longest wait between attempts to learn a commit's outcome while the broker is unreachable. */
const OUTCOME_RETRY_MAX_MS = 2_000;
/**
 * Between a key and the path of one of its entries in a record key (`{pipeline}/{key}\x1f{path}`):
 * a value is stored as entries (see core's state-entries), one record each, so a commit writes
 * the entries that changed. No key or component id holds this character.
 */
const ENTRY_SEP = '\u001f';
/**
 * How long the broker lets one of our transactions stay open before aborting it. A transaction
 * in flight when the broker goes away stays open through the outage; the broker's default (60 s
 * in kafkajs) would abort it and bump the producer epoch, which looks exactly like being fenced
 * by another worker. A worker that dies leaves no wait behind: its successor aborts the
 * transaction when it initialises the same transactional id. Below the broker's default
 * transaction.max.timeout.ms (15 minutes).
 */
export const TRANSACTION_TIMEOUT_MS = 5 * 60_000;
/**
 * Loading gives up (retriably) when the topic's end is not reached in this time. Reading committed
 * records waits for every transaction open before that end, and one a dead worker left open ends
 * when its successor starts or, for a worker never started again, at TRANSACTION_TIMEOUT_MS.
 */
export const STATE_LOAD_TIMEOUT_MS = TRANSACTION_TIMEOUT_MS + 60_000;
/** The start of the consumer group ids of the store's scans (an ACL for them is a prefixed one). */
const STATE_SCAN_GROUP_PREFIX = 'plumline-state-load-';
/** After this long, a load says what it is waiting for. */
const LOAD_WAIT_NOTICE_MS = 10_000;

/** The config schema of the `kafka` state store. */
export const kafkaStateConfigSchema = z.strictObject({
  ...kafkaConnectionShape('plumline-state'),
  topic: z.string().min(1).default(DEFAULT_STATE_TOPIC).describe('Compacted topic holding checkpoints and operator state of every pipeline (keyed by pipeline id).'),
  create_topic: z.boolean().default(true).describe('Create the topic (1 partition, cleanup.policy=compact) when missing.'),
  replication: z.int().min(1).default(1).describe('Replication factor when creating the topic.'),
  driver: kafkaDriverSchema,
});
/** The `kafka` state store's config, validated. */
export type KafkaStateConfig = z.output<typeof kafkaStateConfigSchema>;

/**
 * Where the store is, as one state: `idle` until the producer is connected and its transactional
 * id initialised (and again after a failed transaction replaced the producer), `ready`, and then
 * for good `fenced` (another worker took over: every write fails with that error, closed or not)
 * or `closed`.
 */
type StoreState = { readonly is: 'idle' } | { readonly is: 'ready' } | { readonly is: 'fenced'; readonly error: StateError } | { readonly is: 'closed' };

/** Where an exactly-once sink commits through this store: its brokers and topic, and the driver its producer uses. */
function atomicTargetOf(c: KafkaStateConfig): AtomicTarget {
  return { kind: 'kafka', endpoints: c.brokers, topic: c.topic, client: c.driver };
}

/**
 * State on a compacted Kafka topic, so that a pipeline worker that dies can be replaced by one
 * on another machine that resumes from the same checkpoint. Every write is a Kafka transaction of
 * one producer whose transactional id is the pipeline's: when a second worker opens the same
 * pipeline, Kafka fences the first, whose next write fails with STATE_FENCED — the later one wins.
 * An exactly-once sink writes its records through the same producer (`commitAtomically`), so its
 * output, the checkpoints and operator state commit in one transaction.
 * Keys are `{pipeline}/{key}\x1f{entry path}`: a value is split into entries (source → seq /
 * position → the position's top-level keys, for checkpoints) and a write sends only the entries
 * that changed, removed ones as tombstones, in one transaction; a value written whole by an
 * earlier version (`{pipeline}/{key}`) is read, and tombstoned by the first write of its entries.
 * Logs are stored as numbered chunks (`{pipeline}/{key}#{n}`).
 *
 * A failed transaction is aborted and the producer replaced (re-initialising the transactional
 * id aborts whatever the old one left open), so a broker that stops, restarts or loses the
 * coordinator costs retries, never the pipeline.
 *
 * Re-initialising would also fence a later worker that took over meanwhile, handing the pipeline
 * back to one whose state is stale. So every worker commits a claim (`@owner`, a random token)
 * right after it takes over, and a worker that replaces its producer reads the latest claim
 * before and after re-initialising: a claim not its own means it was fenced. The check after
 * closes the gap between the two; in that gap both workers may end fenced, never both writing.
 */
export class KafkaStateStore implements AtomicStateStore<KafkaAtomicHandle> {
  readonly atomicTarget: AtomicTarget;
  private readonly kafka: kafkajs.Kafka;
  /** Refusals kafkajs logged without throwing them (a refused transactional id). */
  private readonly refusals = new LoggedRefusals();
  private producer: KafkaProducer;
  /** Values as an earlier version wrote them: one record per key. */
  private readonly values = new Map<string, JsonValue>();
  /** Values as entries (entry path → JSON text), by key. */
  private readonly entries = new Map<string, Entries>();
  private readonly logs = new Map<string, Buffer[]>();
  private chain: Promise<unknown> = Promise.resolve();
  /** This worker's claim on the pipeline, once committed (see the class comment). */
  private claim: string | undefined;
  private state: StoreState = { is: 'idle' };
  private closed: Promise<void> | undefined;
  /** Set when close() begins: a wait for a commit's outcome gives up (the next start reads it). */
  private closing = false;

  constructor(
    private readonly c: KafkaStateConfig,
    private readonly pipelineId: string,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.kafka = new kafkajs.Kafka(kafkaClientConfig({ brokers: c.brokers, client_id: c.client_id, ssl: c.ssl, sasl: c.sasl }, { logger }, this.refusals));
    this.producer = this.newProducer();
    this.atomicTarget = atomicTargetOf(c);
    this.location = `Kafka topic ${c.topic} (pipeline "${pipelineId}", at ${c.brokers.join(', ')})`;
  }

  /** Where the state is, for STATE_CORRUPT. */
  readonly location: string;

  /** The pipeline's transactional id: every worker of the pipeline uses it, so the latest fences the others. */
  private get transactionalId(): string {
    return `plumline-${this.pipelineId}`;
  }

  private newProducer(): KafkaProducer {
    return createProducer(this.c.driver, { kafka: this.kafka, connection: this.c }, { transactionalId: this.transactionalId, transactionTimeoutMs: TRANSACTION_TIMEOUT_MS, idempotent: true, maxInFlight: 1, acks: -1, compression: 'none' });
  }

  private prefix(): string {
    return `${this.pipelineId}/`;
  }

  private unavailable(what: string, err: unknown): StateError {
    return new StateError('STATE_UNAVAILABLE', `kafka state store (topic ${this.c.topic} at ${this.c.brokers.join(', ')}): cannot ${what}: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      fields: { component: 'state', topic: this.c.topic },
    });
  }

  async open(): Promise<void> {
    assertReadCommittedFilter('state');
    const admin = this.kafka.admin();
    try {
      await admin.connect();
    } catch (err) {
      throw this.unavailable('connect', err);
    }
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.c.topic)) {
        if (!this.c.create_topic) throw new StateError('STATE_TOPIC_MISSING', `state topic ${this.c.topic} does not exist: create it (cleanup.policy=compact) or set create_topic${UNSEEN_TOPIC_HINT}`, { retriable: false, fields: { topic: this.c.topic } });
        await createTopicsRacing(admin, { waitForLeaders: true, topics: [{ topic: this.c.topic, numPartitions: 1, replicationFactor: this.c.replication, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }, undefined, this.clock);
      }
      // Claim the pipeline: initialising the transactional id fences any earlier worker and
      // aborts its open transaction, so the end offsets below are stable. The claim record
      // follows at once: the earlier worker, failing now, looks for it before re-initialising.
      await this.ensureProducer();
      const claim = randomUUID();
      await this.transact(() => ({ messages: [{ key: this.prefix() + OWNER_KEY, value: JSON.stringify(claim) }], apply: () => {} }));
      this.claim = claim;
      this.logger.info({ pipeline: this.pipelineId, topic: this.c.topic }, 'took over pipeline: an earlier worker with this id, if any, is fenced');
      const ends = await endOffsets(admin, this.c.topic);
      if ([...ends.values()].some((e) => e.high > 0)) await this.load(ends);
    } catch (err) {
      if (err instanceof StateError) throw err;
      throw this.refused(err) ?? this.unavailable('open the state', err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    this.logger.info({ topic: this.c.topic, pipeline: this.pipelineId, keys: this.values.size, logs: this.logs.size }, 'state loaded from Kafka');
  }

  /**
   * Connects the producer when it is not, and initialises its transactional id (kafkajs does
   * that at the first transaction, not on connect): that fences earlier owners of the pipeline
   * and aborts what they left open.
   */
  private async ensureProducer(): Promise<void> {
    if (this.state.is === 'ready') return;
    this.refusals.clear();
    if (this.claim) await this.checkClaim('before');
    await this.producer.connect();
    const tx = await this.producer.transaction();
    await tx.abort();
    if (this.claim) await this.checkClaim('after');
    // Fenced or closed meanwhile stays so.
    if (this.state.is === 'idle') this.state = { is: 'ready' };
  }

  /** Throws STATE_FENCED when the latest committed claim on the pipeline is another worker's. */
  private async checkClaim(when: 'before' | 'after'): Promise<void> {
    // Before re-initialising, a transaction of ours that failed may still be open: reading past
    // it would wait for it, and only the re-initialisation ends it. After, read to the end.
    const latest = (await this.latestOwn([OWNER_KEY], when === 'after')).get(OWNER_KEY);
    if (latest !== this.claim) throw this.fence(new Error(`another worker claimed the pipeline (checked ${when} re-initialising the producer)`));
  }

  /** The latest committed values (parsed JSON) of this pipeline's `keys`, read to the high watermark or, without `toHighWatermark`, to the listed end offsets. */
  private async latestOwn(keys: readonly string[], toHighWatermark = true): Promise<Map<string, unknown>> {
    const admin = this.kafka.admin();
    let ends: EndOffsets;
    try {
      await admin.connect();
      ends = await endOffsets(admin, this.c.topic);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const wanted = new Map(keys.map((k) => [this.prefix() + k, k]));
    const latest = new Map<string, unknown>();
    await this.scan(ends, (key, value) => {
      const k = wanted.get(key);
      if (k !== undefined && value) latest.set(k, JSON.parse(value.toString()));
    }, toHighWatermark);
    return latest;
  }

  /** Reads the topic (read-committed) up to `ends`, the offsets it had when loading began, keeping this pipeline's latest values. */
  private async load(ends: EndOffsets): Promise<void> {
    const prefix = this.prefix();
    const chunks = new Map<string, Map<number, Buffer | null>>();
    let damage: StateError | undefined;
    await this.scan(ends, (key, value) => {
      if (!key.startsWith(prefix)) return;
      const k = key.slice(prefix.length);
      const sep = k.indexOf(ENTRY_SEP);
      if (sep > 0) {
        // Thrown inside the consumer's handler, it would be retried for ever: kept for after the scan.
        damage ??= this.loadEntry(k.slice(0, sep), k.slice(sep + 1), value);
        return;
      }
      const hash = k.lastIndexOf('#');
      if (hash > 0 && /^#\d+$/.test(k.slice(hash))) {
        const log = k.slice(0, hash);
        const m = chunks.get(log) ?? new Map<number, Buffer | null>();
        m.set(Number(k.slice(hash + 1)), value);
        chunks.set(log, m);
      } else if (value === null) this.values.delete(k);
      else this.values.set(k, JSON.parse(value.toString()) as JsonValue);
    });
    if (damage) throw damage;
    for (const [log, m] of chunks) {
      const parts = [...m].filter(([, v]) => v !== null).sort((a, b) => a[0] - b[0]).map(([, v]) => v!);
      if (parts.length) this.logs.set(log, parts);
    }
  }

  /** Takes in one entry record; its value names the pipeline (a record of another pipeline under this one's prefix is damage, returned). */
  private loadEntry(key: string, path: string, value: Buffer | null): StateError | undefined {
    let entries = this.entries.get(key);
    if (value === null) {
      entries?.delete(path);
      if (entries?.size === 0) this.entries.delete(key);
      return undefined;
    }
    let record: { p?: unknown; v?: unknown };
    try {
      record = JSON.parse(value.toString()) as typeof record;
    } catch {
      return stateCorrupt(this.location, `the record of ${key} ${path} is not JSON`);
    }
    if (record.p !== this.pipelineId || !('v' in record)) return stateCorrupt(this.location, `the record of ${key} ${path} ${record.p !== this.pipelineId ? `belongs to pipeline ${JSON.stringify(record.p)}` : 'has no value'}`);
    if (!entries) this.entries.set(key, (entries = new Map()));
    entries.set(path, JSON.stringify(record.v));
    return undefined;
  }

  /**
   * Calls `visit` with every committed record of the topic, in order, up to the high watermark
   * of the scan's first fetch of each partition, and at least to `ends` (the partitions with
   * records, at the offsets the admin client lists).
   * The offsets kafkajs's admin client lists are last stable offsets: they stop short of records
   * committed after another worker's transaction that is still open, such as this pipeline's own
   * last checkpoints when another task's copy died mid-transaction. The first fetch comes after
   * the caller's claim or check, so its high watermark is past every record that matters; the
   * scan waits there for such open transactions to end (their successors abort them at start).
   * Without `toHighWatermark` it stops at `ends`.
   */
  private scan(ends: EndOffsets, visit: (key: string, value: Buffer | null) => void, toHighWatermark = true): Promise<void> {
    const { topic } = this.c;
    return readCommittedToEnd(
      this.kafka,
      {
        topic,
        groupId: `${STATE_SCAN_GROUP_PREFIX}${this.pipelineId}-${process.pid}-${randomUUID()}`,
        ends,
        toHighWatermark,
        slowAfterMs: LOAD_WAIT_NOTICE_MS,
        onSlow: (endOffsets) => this.logger.info({ topic, endOffsets }, "state load waits for a transaction another worker left open on the state topic: it ends when that worker's successor starts, or within the transaction timeout"),
        timeoutMs: STATE_LOAD_TIMEOUT_MS,
        clock: this.clock,
        onTimeout: () => new StateError('STATE_LOAD_TIMEOUT', `kafka state store: topic ${topic} not read to its end offsets within ${STATE_LOAD_TIMEOUT_MS / 1000}s`, { fields: { component: 'state', topic } }),
      },
      visit,
    );
  }

  /**
   * Runs one transaction after the previous one (writes are ordered): `output` first (a sink's
   * records), then the messages `build` makes — built only now, since chunk numbers depend on
   * every write before. Maps fencing to STATE_FENCED and anything else to a retriable error,
   * after replacing the producer.
   */
  private transact(build: () => { messages: kafkajs.Message[]; apply: () => void }, output?: (tx: KafkaTransaction) => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.state.is === 'fenced') throw this.state.error;
      if (this.state.is === 'closed') throw new StateError('STATE_CLOSED', 'kafka state store is closed', { retriable: false, fields: { component: 'state' } });
      let tx: KafkaTransaction | undefined;
      let built: ReturnType<typeof build> | undefined;
      const marker = randomUUID();
      let committing = false;
      try {
        await this.ensureProducer();
        tx = await this.producer.transaction();
        if (output) await output(tx);
        built = build();
        const small: kafkajs.Message[] = [];
        for (const m of built.messages) {
          if (m.value instanceof Buffer && m.value.length > OWN_REQUEST_BYTES) await tx.send([{ topic: this.c.topic, messages: [m] }]);
          else small.push(m);
        }
        small.push({ key: this.prefix() + COMMIT_KEY, value: JSON.stringify(marker) });
        await tx.send([{ topic: this.c.topic, messages: small }]);
        committing = true;
        await tx.commit();
      } catch (err) {
        const failure = await this.failed(err, tx);
        // A commit that failed may have landed (the broker took it; its answer was lost): sent
        // again as a new transaction, the batch would be written twice. Learn the outcome first.
        if (!built || !committing || !failure.retriable || !(await this.landed(marker, failure))) throw failure;
      }
      built.apply();
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => {});
    return next;
  }

  /** After a failed transaction: fenced stays fenced; otherwise abort, replace the producer, and say the caller may retry. */
  private async failed(err: unknown, tx: KafkaTransaction | undefined): Promise<PlumlineError> {
    if (this.state.is === 'fenced') return this.state.error;
    if (isFenced(err)) return this.fence(err);
    // kafkajs leaves a producer whose abort failed in ABORTING for good: replace it. Its
    // successor's initialisation aborts the transaction if the broker still has it open.
    let abortError: unknown;
    await tx?.abort().catch((e: unknown) => (abortError = e));
    if (isFenced(abortError)) return this.fence(abortError);
    await this.replaceProducer();
    // A caller's own verdict (a sink that knows its records can never be written) stands.
    if (isPlumlineError(err)) return err;
    const refused = this.refused(err);
    if (refused) return refused;
    return new StateError('STATE_WRITE_FAILED', `kafka state store (topic ${this.c.topic}): transaction failed and was aborted: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      fields: { component: 'state', topic: this.c.topic },
    });
  }

  /** The error it was fenced with, if it was (a call, not a narrowing: the state changes across awaits). */
  private fencedBy(): StateError | undefined {
    return this.state.is === 'fenced' ? this.state.error : undefined;
  }

  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = this.newProducer();
    // Fenced stays fenced.
    if (this.state.is === 'ready') this.state = { is: 'idle' };
    await old.disconnect().catch(() => {});
  }

  /**
   * Whether the transaction that wrote `marker` committed, after its commit failed. Initialising
   * the transactional id again makes the coordinator finish a commit it took (or abort what it
   * did not), so the committed state read afterwards shows the outcome. Until the broker answers
   * that, this waits (a pipeline stops instead when closing): as kafkajs and librdkafka retry a
   * commit's answer, not the transaction. Fencing ends the wait with STATE_FENCED.
   */
  private async landed(marker: string, failure: PlumlineError): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const fenced = this.fencedBy();
      if (fenced) throw fenced;
      if (this.closing) throw failure;
      try {
        await this.ensureProducer();
        const latest = await this.latestOwn([COMMIT_KEY]);
        return latest.get(COMMIT_KEY) === marker;
      } catch (err) {
        const fencedNow = this.fencedBy();
        if (fencedNow) throw fencedNow;
        if (isFenced(err)) throw this.fence(err);
        const refused = this.refused(err);
        if (refused) throw refused;
        if (attempt === 0) this.logger.warn({ code: failure.code, err }, 'a transaction\'s commit failed and may have landed: waiting for the broker to learn which, before writing again');
        await this.replaceProducer();
        await this.clock.sleep(Math.min(OUTCOME_RETRY_MAX_MS, 100 * 2 ** attempt));
      }
    }
  }

  /**
   * STATE_NOT_AUTHORIZED when Kafka refused this client's principal a resource the store uses:
   * an ACL is missing, which no retry (and no relaunch, as after fencing) changes.
   */
  private refused(err: unknown): StateError | undefined {
    const denied = notAuthorized(this.refusals.explain(err), { transactionalId: this.transactionalId, topic: this.c.topic, groupPrefix: STATE_SCAN_GROUP_PREFIX });
    if (!denied) return undefined;
    return new StateError('STATE_NOT_AUTHORIZED', `kafka state store (topic ${this.c.topic} at ${this.c.brokers.join(', ')}): Kafka refused this client (${denied.type}), an ACL is missing: ${denied.acl}. Nothing was written`, {
      retriable: false,
      cause: err,
      fields: { component: 'state', topic: this.c.topic, kafkaError: denied.type },
    });
  }

  private fence(cause: unknown): StateError {
    const error = new StateError('STATE_FENCED', `another worker took over pipeline "${this.pipelineId}" (same id on state topic ${this.c.topic}); this one stops without writing`, {
      retriable: false,
      cause,
      fields: { component: 'state', topic: this.c.topic },
    });
    this.state = { is: 'fenced', error };
    this.logger.error({ code: 'STATE_FENCED' }, 'fenced: another worker took over this pipeline');
    return error;
  }

  async get(key: string): Promise<JsonValue | undefined> {
    const entries = this.entries.get(key);
    if (!entries) return this.values.get(key);
    try {
      return fromEntries(entries);
    } catch (err) {
      throw stateCorrupt(this.location, `the entries of ${key} do not fit together: ${(err as Error).message}`);
    }
  }

  set(key: string, value: JsonValue): Promise<void> {
    return this.commitAtomically([{ kind: 'set', key, value }], async () => {});
  }

  append(key: string, data: Uint8Array): Promise<void> {
    return this.commitAtomically([{ kind: 'append', key, data }], async () => {});
  }

  commitAtomically(writes: readonly StagedWrite[], output: (handle: KafkaAtomicHandle) => Promise<void>): Promise<void> {
    return this.transact(() => this.messagesOf(writes), output);
  }

  /**
   * The records for `writes`, and how to apply them to what the store holds once they committed.
   * Appends are numbered after the chunks the log has (and earlier writes in the list); a
   * rewrite numbers its chunks from 0 and deletes (tombstones) those it no longer needs.
   */
  private messagesOf(writes: readonly StagedWrite[]): { messages: kafkajs.Message[]; apply: () => void } {
    const touched = new Map<string, { replaced: boolean; chunks: Buffer[] }>();
    /** The entries of each key set in this transaction, as they will be once it commits. */
    const setTo = new Map<string, Entries>();
    const messages: kafkajs.Message[] = [];
    for (const w of writes) {
      if (w.kind === 'set') {
        messages.push(...this.entryMessages(w.key, setTo.get(w.key) ?? this.entries.get(w.key), toEntries(w.value), setTo));
        continue;
      }
      let log = touched.get(w.key);
      if (!log) touched.set(w.key, (log = { replaced: false, chunks: [] }));
      const count = (log.replaced ? 0 : (this.logs.get(w.key)?.length ?? 0)) + log.chunks.length;
      if (w.kind === 'rewrite') {
        const fresh = this.chunkMessages(w.key, 0, w.data);
        for (let n = fresh.length; n < count; n++) messages.push({ key: `${this.prefix()}${w.key}#${n}`, value: null });
        messages.push(...fresh);
        log.replaced = true;
        log.chunks = fresh.map((m) => m.value as Buffer);
        continue;
      }
      const msgs = this.chunkMessages(w.key, count, w.data);
      for (const m of msgs) log.chunks.push(m.value as Buffer);
      messages.push(...msgs);
    }
    const apply = (): void => {
      for (const [key, entries] of setTo) {
        this.values.delete(key);
        if (entries.size) this.entries.set(key, entries);
        else this.entries.delete(key);
      }
      for (const [key, log] of touched) this.logs.set(key, log.replaced ? log.chunks : [...(this.logs.get(key) ?? []), ...log.chunks]);
    };
    return { messages, apply };
  }

  /**
   * The records that take `key` from `prev` to `next` entries: the entries that changed, and
   * tombstones for those removed and for the value an earlier version wrote whole.
   */
  private entryMessages(key: string, prev: Entries | undefined, next: Entries, setTo: Map<string, Entries>): kafkajs.Message[] {
    const base = `${this.prefix()}${key}${ENTRY_SEP}`;
    const { set, removed } = diffEntries(prev, next);
    const messages: kafkajs.Message[] = set.map(([path, text]) => ({ key: base + path, value: `{"p":${JSON.stringify(this.pipelineId)},"v":${text}}` }));
    for (const path of removed) messages.push({ key: base + path, value: null });
    if (this.values.has(key) && !setTo.has(key)) messages.push({ key: this.prefix() + key, value: null });
    setTo.set(key, next);
    return messages;
  }

  private chunkMessages(key: string, from: number, data: Uint8Array): kafkajs.Message[] {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: kafkajs.Message[] = [];
    for (let off = 0, n = from; off < buf.length; off += CHUNK_BYTES, n++) out.push({ key: `${this.prefix()}${key}#${n}`, value: Buffer.from(buf.subarray(off, off + CHUNK_BYTES)) });
    return out;
  }

  async readLog(key: string): Promise<Uint8Array> {
    return Buffer.concat(this.logs.get(key) ?? []);
  }

  rewriteLog(key: string, data: Uint8Array): Promise<void> {
    return this.commitAtomically([{ kind: 'rewrite', key, data }], async () => {});
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      this.closing = true;
      await this.chain;
      if (this.state.is !== 'fenced') this.state = { is: 'closed' };
      await this.producer.disconnect().catch(() => {});
    })());
  }
}

/**
 * `state: { type: kafka, brokers: [...], topic: plumline-state }` — checkpoints and operator
 * state on a compacted topic, with fencing between workers of the same pipeline id.
 */
export const kafkaStatePlugin = defineStateStore({
  type: 'kafka',
  description: 'Keeps checkpoints and operator state on a compacted Kafka topic; workers of one pipeline fence each other; exactly-once sinks commit through it.',
  configSchema: kafkaStateConfigSchema,
  atomicTarget: atomicTargetOf,
  sharedByWorkers: true,
  spread: kafkaTenantSpread,
  preflight: kafkaConnectionProblems,
  create(config, ctx) {
    return new KafkaStateStore(config, ctx.pipelineId, ctx.logger, ctx.clock);
  },
});
