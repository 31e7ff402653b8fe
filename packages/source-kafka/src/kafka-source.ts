import { defineSource, PipelineError, z, type CallEvent, type ComponentContext, type DeadLetter, type Source, type SourcePage } from '@plumline/core';
import { kafkaClientConfig } from '@plumline/kafka-client';
import { aclHint, assertReadCommittedFilter, checkTopics, connectOrFail, endOffsets, isRoutine, kafkaConnectionProblems, kafkajs, LoggedRefusals, PartitionTaskMembership } from '@plumline/kafka-client/support';
import { ChunkQueue } from './chunk-queue.js';
import { kafkaSourceConfigSchema, type KafkaSourceConfig } from './kafka-source-config.js';
import { RecordDecoder } from './record-decoder.js';
import { sourceTaskGroup } from './source-task-group.js';
import { staticPartitionAssigner } from './static-partition-assigner.js';

/**
 * The checkpoint of a `kafka` source: for each partition read (`topic/partition`), the offset
 * of the next record to read. It covers only records every sink acknowledged.
 */
export interface KafkaCheckpoint {
  offsets: Record<string, number>;
}

/** Fetched chunks waiting for the pipeline: a few, so the consumer fetches ahead without filling memory. */
const MAX_QUEUED_CHUNKS = 4;
/**
 * Longest a fetch waits on the broker for new records (the Java client's fetch.max.wait.ms).
 * kafkajs's 5 s default also made every stop wait up to 5 s: disconnecting waits for the fetch.
 */
const FETCH_MAX_WAIT_MS = 500;
/** How often a fetch waiting for room tells the group it is alive (well under the session timeout). */
const HEARTBEAT_EVERY_MS = 3_000;

/** Records of one partition handed from kafkajs's fetch loop to `read`. */
interface Chunk {
  tp: string;
  topic: string;
  partition: number;
  messages: kafkajs.KafkaMessage[];
  /** The partition's end offset when the chunk was fetched. */
  highWatermark: number;
  /**
   * The last offset the chunk accounts for: its last record's, or, for the last chunk of a fetch,
   * past the transaction markers and aborted records read_committed leaves out after it (none of
   * which is ever a record to hand on). Without it a transactional topic's end, a commit marker,
   * would never count as read.
   */
  throughOffset: number;
}

const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

type LifecycleState = 'new' | 'reading' | 'closed';

/**
 * The `kafka` source: a member of a consumer group that reads the partitions the group assigns
 * it and hands their records to the pipeline, one partition's records per page.
 *
 * Its checkpoint (the next offset per partition) is stored like every source's, after every
 * sink acknowledged the records before it — with an exactly-once Kafka sink, in the same
 * transaction as the output. The group's offsets mirror it (`committed`), written only after the
 * checkpoint is durable, so they never run ahead of what was delivered. A partition resumes at
 * the later of the two: the stored checkpoint when this worker read furthest, the group's
 * offset when another worker has moved it on since. Records already handed on in this run are
 * never handed on again (the group restarts its fetch at the committed offset after a rebalance).
 */
export class KafkaSource implements Source<KafkaCheckpoint> {
  readonly bounded: boolean;
  readonly wellFormedEvents = true;
  private state: LifecycleState = 'new';
  private readonly kafka: kafkajs.Kafka;
  /** Refusals kafkajs logged without throwing them (a refused group comes out as "Failed to find group coordinator"). */
  private readonly refusals = new LoggedRefusals();
  private readonly consumer: kafkajs.Consumer;
  private readonly decoder: RecordDecoder;
  private readonly queue = new ChunkQueue<Chunk>(MAX_QUEUED_CHUNKS);
  /** Next offset to hand on, per partition: from the checkpoint, then from what was handed on. */
  private readonly next = new Map<string, number>();
  /** Partitions the group assigned this worker in its current generation. */
  private assigned = new Set<string>();
  /** Per partition assigned now, the first offset handed on since the assignment: the group's offset is mirrored only past it. */
  private readonly resumedAt = new Map<string, number>();
  private readonly groupOffsets = new Map<string, number>();
  /** Bumped when a rebalance starts: a fetch of an earlier generation stops waiting for room. */
  private generation = 0;
  private readonly unlisten: (() => void)[] = [];
  /** The admin client, once first used (see adminClient). */
  private admin: Promise<kafkajs.Admin> | undefined;
  /** With stop_at_end: per partition of the topics, the offsets at start (the end to reach, and where an unread partition starts). */
  private ends: Map<string, { low: number; high: number }> | undefined;
  /** stop_at_end: where this run started in each partition it was given, for its progress (records done of the range). */
  private readonly startedAt = new Map<string, number>();
  /** With stop_at_end: the group's first assignment arrived (before it, nothing is known to be finished). */
  private everAssigned = false;

  constructor(
    private readonly c: KafkaSourceConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.kafka = new kafkajs.Kafka(kafkaClientConfig(c, ctx, this.refusals));
    this.consumer = this.kafka.consumer({
      groupId: c.group_id,
      sessionTimeout: c.session_timeout,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      allowAutoTopicCreation: false,
      readUncommitted: false,
      ...(c.partitions ? { partitionAssigners: [staticPartitionAssigner(c.partitions)] } : {}),
    });
    this.decoder = new RecordDecoder(c);
    this.bounded = c.stop_at_end;
  }

  async *read(checkpoint: KafkaCheckpoint | undefined): AsyncGenerator<SourcePage<KafkaCheckpoint>> {
    for (const [tp, offset] of Object.entries(checkpoint?.offsets ?? {})) this.next.set(tp, offset);
    // The pipeline stopping ends a wait for records at once (the driver only checks between pages).
    const stop = () => this.queue.close();
    this.ctx.signal.addEventListener('abort', stop, { once: true });
    await this.start();
    try {
      for (;;) {
        const chunk = await this.queue.pull();
        if (!chunk) return;
        const page = await this.pageOf(chunk);
        if (page) yield page;
        if (this.reachedEnd()) return;
      }
    } finally {
      this.ctx.signal.removeEventListener('abort', stop);
      this.queue.close();
    }
  }

  /** Mirrors the durable checkpoint into the group's offsets, for the partitions this worker still reads. */
  async committed(checkpoint: KafkaCheckpoint): Promise<void> {
    if (this.state !== 'reading') return;
    const offsets: kafkajs.TopicPartitionOffset[] = [];
    for (const [tp, offset] of Object.entries(checkpoint.offsets)) {
      const resumed = this.resumedAt.get(tp);
      if (!this.assigned.has(tp) || resumed === undefined || offset <= resumed || this.groupOffsets.get(tp) === offset) continue;
      const cut = tp.lastIndexOf('/');
      offsets.push({ topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)), offset: String(offset) });
    }
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets);
    for (const o of offsets) this.groupOffsets.set(tpKey(o.topic, o.partition), Number(o.offset));
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue.close();
    for (const off of this.unlisten.splice(0)) off();
    // Leaving the group hands this worker's partitions to the others at once.
    await this.consumer.disconnect();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect(), () => {});
  }

  private async start(): Promise<void> {
    assertReadCommittedFilter(this.ctx.id);
    this.state = 'reading';
    const { GROUP_JOIN, REBALANCING, CRASH, END_BATCH_PROCESS } = this.consumer.events;
    this.unlisten.push(
      // A fetch of markers and aborted records only reaches no eachBatch: say how far it went.
      this.consumer.on(END_BATCH_PROCESS, (e) => {
        // Only a fetch that held markers or aborted records at or past the fetched offset: one
        // with nothing there (records before it, returned with their record batch) says
        // lastOffset = the fetched offset, which is still to be read.
        if (e.payload.batchSize !== 0 || e.payload.firstOffset === null) return;
        const tp = tpKey(e.payload.topic, e.payload.partition);
        const chunk: Chunk = { tp, topic: e.payload.topic, partition: e.payload.partition, messages: [], highWatermark: Number(e.payload.highWatermark), throughOffset: Number(e.payload.lastOffset) };
        void this.queue.push(chunk, () => this.state === 'reading');
      }),
      this.consumer.on(GROUP_JOIN, (e) => this.assign(e.payload.memberAssignment)),
      this.consumer.on(REBALANCING, () => {
        this.generation++;
        this.queue.wake();
      }),
      this.consumer.on(CRASH, (e) => {
        if (e.payload.restart) {
          // Counted (and shown as the last error) either way; a coordinator still starting (a
          // fresh broker, a group's first use) is start-up chatter, not worth a warning.
          this.ctx.telemetry.retry(e.payload.error);
          if (isRoutine(e.payload.error)) this.ctx.logger.debug({ err: e.payload.error }, 'kafka consumer failed; kafkajs restarts it');
          else this.ctx.logger.warn({ err: e.payload.error }, 'kafka consumer failed; kafkajs restarts it');
          // A topic deleted while read fails every restart: say so instead of restarting for ever.
          if (this.c.topics) void this.checkTopics(this.c.topics).catch((err: unknown) => (err as PipelineError).code === 'KAFKA_TOPIC_MISSING' && this.queue.fail(err));
          return;
        }
        this.queue.fail(new PipelineError('KAFKA_CONSUMER_FAILED', `kafka consumer of group ${this.c.group_id} stopped: ${e.payload.error.message}${aclHint(this.refusals.explain(e.payload.error), { topic: this.c.topics?.join(', ') ?? this.c.topic_pattern, topicOperations: ['Describe', 'Read'], group: this.c.group_id })}`, { cause: e.payload.error, retriable: false }));
      }),
    );
    await connectOrFail(this.consumer, this.c.brokers);
    if (this.c.topics) await this.checkTopics(this.c.topics);
    if (this.c.stop_at_end) this.ends = await this.endOffsets();
    await this.consumer.subscribe({ topics: this.c.topics ?? [new RegExp(this.c.topic_pattern!)], fromBeginning: this.c.start_from === 'earliest' });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.eachBatch(payload) });
  }

  /** A topic that does not exist would have the group wait for it for ever: refuse it at start. */
  private async checkTopics(topics: string[]): Promise<void> {
    await checkTopics(await this.adminClient(), topics, this.c.brokers, this.ctx.id);
  }

  /** One admin client for the source's life (topic checks, end offsets, the group's offsets), connected at first use. */
  private adminClient(): Promise<kafkajs.Admin> {
    if (this.state === 'closed') return Promise.reject(new PipelineError('PIPELINE_STOPPED', `source ${this.ctx.id} is closed`, { retriable: false }));
    const admin = (this.admin ??= connectOrFail(this.kafka.admin(), this.c.brokers));
    // A failed connect is not kept: the next use tries again.
    admin.catch(() => {
      if (this.admin === admin) this.admin = undefined;
    });
    return admin;
  }

  /** A new generation's assignment: partitions given up lose their queued records; kept ones go on. */
  private assign(assignment: Record<string, number[]>): void {
    this.assigned = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => tpKey(topic, p))));
    for (const tp of [...this.resumedAt.keys()]) if (!this.assigned.has(tp)) this.resumedAt.delete(tp);
    for (const tp of Object.keys(this.ctx.telemetry.stats.backlog ?? {})) if (!this.assigned.has(tp)) this.ctx.telemetry.backlog(tp, undefined);
    for (const tp of [...this.groupOffsets.keys()]) if (!this.assigned.has(tp)) this.groupOffsets.delete(tp);
    this.queue.retain((chunk) => this.assigned.has(chunk.tp));
    // One line per assignment, not one per partition as each resumes (21 lines on a 21-partition topic).
    const fromCheckpoint = [...this.assigned].filter((tp) => this.next.has(tp)).length;
    this.ctx.logger.info({ partitions: [...this.assigned].sort(), fromCheckpoint, fromGroupOrStart: this.assigned.size - fromCheckpoint, startFrom: this.c.start_from }, 'kafka group assigned partitions');
    if (this.ends) void this.catchUpWithGroup().catch((err: unknown) => this.queue.fail(err));
  }

  /**
   * stop_at_end: a partition that another worker finished comes with the group's offset at its
   * end and no records to fetch; taking the group's offsets as read (they mirror a durable
   * checkpoint) lets this worker see it is finished.
   */
  private async catchUpWithGroup(): Promise<void> {
    const admin = await this.adminClient();
    const topics = [...new Set([...this.assigned].map((tp) => tp.slice(0, tp.lastIndexOf('/'))))];
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: this.c.group_id, topics })) {
      for (const { partition, offset } of partitions) {
        const tp = tpKey(topic, partition);
        if (Number(offset) > (this.next.get(tp) ?? -1) && this.assigned.has(tp)) this.next.set(tp, Number(offset));
      }
    }
    this.everAssigned = true;
    this.reportProgress();
    if (this.reachedEnd()) this.queue.close();
  }

  /** stop_at_end: the end offsets of every partition of the topics when the source starts. */
  private async endOffsets(): Promise<Map<string, { low: number; high: number }>> {
    const admin = await this.adminClient();
    const pattern = this.c.topic_pattern === undefined ? undefined : new RegExp(this.c.topic_pattern);
    const topics = this.c.topics ?? (await admin.listTopics()).filter((t) => pattern!.test(t));
    const ends = new Map<string, { low: number; high: number }>();
    for (const topic of topics) for (const [partition, end] of await endOffsets(admin, topic)) ends.set(tpKey(topic, partition), end);
    return ends;
  }

  /**
   * stop_at_end: records read of those between where this run started in each assigned partition
   * and the end found at start (the progress bar's done/total, so it can tell an ETA).
   */
  private reportProgress(): void {
    if (!this.ends) return;
    let done = 0;
    let total = 0;
    for (const tp of this.assigned) {
      const end = this.ends.get(tp);
      if (!end) continue;
      if (!this.startedAt.has(tp)) this.startedAt.set(tp, Math.min(end.high, this.next.get(tp) ?? end.low));
      const from = this.startedAt.get(tp)!;
      total += end.high - from;
      done += Math.min(end.high, Math.max(from, this.next.get(tp) ?? from)) - from;
    }
    this.ctx.telemetry.progress(done, total, 'records');
  }

  /** stop_at_end: every partition assigned to this worker was read to the end it had at start. */
  private reachedEnd(): boolean {
    if (!this.ends || !this.everAssigned) return false;
    for (const tp of this.assigned) {
      const end = this.ends.get(tp);
      if (end && (this.next.get(tp) ?? end.low) < end.high) return false;
    }
    return true;
  }

  /**
   * kafkajs's fetch loop: queues the batch's records in chunks, waiting for room (and telling the
   * group it is alive meanwhile). An offset is resolved only once its chunk is queued, so what a
   * rebalance or a stop interrupts is fetched again, never skipped.
   */
  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }: kafkajs.EachBatchPayload): Promise<void> {
    const generation = this.generation;
    const wanted = () => isRunning() && !isStale() && this.generation === generation && this.state === 'reading';
    const tp = tpKey(batch.topic, batch.partition);
    const alive = this.ctx.clock.setInterval(() => void heartbeat().catch(() => this.queue.wake()), HEARTBEAT_EVERY_MS);
    try {
      for (let i = 0; i < batch.messages.length && wanted(); i += this.c.max_batch_events) {
        const messages = batch.messages.slice(i, i + this.c.max_batch_events);
        const last = i + this.c.max_batch_events >= batch.messages.length;
        const throughOffset = Number(last ? batch.lastOffset() : messages[messages.length - 1]!.offset);
        const queued = await this.queue.push({ tp, topic: batch.topic, partition: batch.partition, messages, highWatermark: Number(batch.highWatermark), throughOffset }, wanted);
        if (!queued) break;
        resolveOffset(messages[messages.length - 1]!.offset);
      }
    } finally {
      alive.cancel();
    }
    // Stopping (closed, or the pipeline stopped reading): fetching again would only spin until the consumer disconnects.
    if (this.state === 'closed' || this.queue.isClosed) pause();
  }

  /** The page of a chunk: records not handed on yet, decoded; undefined when none is left (or the partition is no longer ours). */
  private async pageOf(chunk: Chunk): Promise<SourcePage<KafkaCheckpoint> | undefined> {
    if (!this.assigned.has(chunk.tp)) return undefined;
    let next = this.next.get(chunk.tp);
    const events: CallEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const m of chunk.messages) {
      const offset = Number(m.offset);
      if (next !== undefined && offset < next) continue;
      if (!this.resumedAt.has(chunk.tp)) {
        this.resumedAt.set(chunk.tp, offset);
        this.ctx.logger.debug({ partition: chunk.tp, offset, checkpoint: next ?? null }, 'kafka partition resumed');
      }
      const found = this.decoder.decode({ topic: chunk.topic, partition: chunk.partition, offset: m.offset }, m);
      const decoded = found instanceof Promise ? await found : found;
      if ('event' in decoded) events.push(decoded.event);
      else dead.push(decoded.dead);
      next = offset + 1;
    }
    // Markers and aborted records after the last record: read past, never handed on.
    if (chunk.throughOffset + 1 > (next ?? -1)) {
      if (events.length + dead.length === 0) {
        this.next.set(chunk.tp, chunk.throughOffset + 1);
        this.reportProgress();
        this.ctx.telemetry.backlog(chunk.tp, Math.max(0, chunk.highWatermark - chunk.throughOffset - 1));
        return undefined;
      }
      next = chunk.throughOffset + 1;
    }
    if (next === undefined || events.length + dead.length === 0) return undefined;
    this.next.set(chunk.tp, next);
    this.reportProgress();
    this.ctx.telemetry.backlog(chunk.tp, Math.max(0, chunk.highWatermark - next));
    return { events, ...(dead.length ? { dead } : {}), checkpoint: { offsets: Object.fromEntries(this.next) } };
  }
}

/**
 * `kafka` source: consumes topics as a member of a consumer group; workers with the same
 * `group_id` share the partitions.
 *
 * ```yaml
 * sources:
 *   raw:
 *     type: kafka
 *     brokers: ["127.0.0.1:9092"]
 *     topics: [calls.raw]
 *     group_id: plumline-process
 * ```
 */
export const kafkaSource = defineSource({
  type: 'kafka',
  description: 'Consumes CallEvents from Kafka topics as a member of a consumer group (JSON, or Avro / JSON Schema through a schema registry); undecodable records go to the dead-letter output with topic, partition and offset.',
  configSchema: kafkaSourceConfigSchema,
  endHint: 'stop_at_end: true, to end at the end offsets found at start',
  checkpointSchema: z.strictObject({ offsets: z.record(z.string().regex(/\/\d+$/), z.int().min(0)) }),
  partitioning: (config) => ({ keyedBy: config.keyed_by }),
  preflight: kafkaConnectionProblems,
  tasks: (config) =>
    config.task_per_partition
      ? {
          membership: ({ logger, sourceId }) => new PartitionTaskMembership(sourceTaskGroup(config, sourceId), { logger }),
          configFor: (partition) => ({ ...config, task_per_partition: false, partitions: [partition] }),
        }
      : undefined,
  create: (config, ctx) => new KafkaSource(config, ctx),
});
