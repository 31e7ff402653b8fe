import { ConfigError, defineSink, EVENT_SCHEMA_VERSION, eventJsonLine, PipelineError, unwritableAsJson, type AtomicProblem, type AtomicStateStore, type AtomicTarget, type CallEvent, type ComponentContext, type DeadLetter, type Sink, type SinkBatch } from '@plumline/core';
import { compileStrictTemplate, compileTemplate } from '@plumline/core/util';
import {
  aclHint,
  createProducer,
  createTopicsRacing,
  DEFAULT_KAFKA_DRIVER,
  isValidTopicName,
  kafkaConnectionProblems,
  kafkajs,
  permanentTopicErrorType,
  permanentType,
  refusedInTransaction,
  unreachable,
  UNSEEN_TOPIC_HINT,
  type KafkaAtomicHandle,
  type KafkaProducer,
  type TopicMessages,
} from '@plumline/kafka-client/support';
import { kafkaClientConfig } from '@plumline/kafka-client';
import { kafkaSinkConfigSchema, type KafkaSinkConfig } from './kafka-sink-config.js';
import { RegistryEncoder } from './registry-encoder.js';

const { Kafka } = kafkajs;
type Admin = kafkajs.Admin;
type Message = kafkajs.Message;

/**
 * Most bytes of records per produce request. kafkajs puts a request's records for one partition
 * in one record batch, which the broker refuses above message.max.bytes (1 MB by default): a
 * large batch (an exactly-once group of many batches) goes as several requests.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/** A record's overhead in a record batch beyond its key, value and headers (lengths, offsets, timestamps), rounded up. */
const RECORD_FRAMING_BYTES = 32;

/** A batch's records, cut into produce requests of at most MAX_REQUEST_BYTES (a larger record goes alone). */
class Requests {
  readonly all: Map<string, Message[]>[] = [];
  readonly topics = new Set<string>();
  private size = Number.POSITIVE_INFINITY;

  add(topic: string, message: Message, bytes: number): void {
    const framed = bytes + RECORD_FRAMING_BYTES;
    if (this.size + framed > MAX_REQUEST_BYTES && this.size > 0) {
      this.all.push(new Map());
      this.size = 0;
    }
    const current = this.all[this.all.length - 1]!;
    const list = current.get(topic);
    if (list) list.push(message);
    else current.set(topic, [message]);
    this.size += framed;
    this.topics.add(topic);
  }

  /** Each request as kafkajs's topicMessages. */
  *topicMessages(): Generator<TopicMessages> {
    for (const r of this.all) yield [...r].map(([topic, messages]) => ({ topic, messages }));
  }
}

/**
 * The Kafka sink: one record per event, value = the event as JSON, key and topic from templates.
 * A batch is acknowledged only once the broker acknowledged every record in it (acks=all by
 * default, idempotent producer). Batches are written one at a time, so a retried batch never
 * overtakes a later one: records of one key keep their order.
 */
export class KafkaSink implements Sink {
  readonly maxInFlight = 1;
  readonly ownsCheckpoints: boolean;
  /** Without exactly_once: the sink's own producer. With it, records go through the state store's transactional producer. */
  private readonly producer: KafkaProducer | undefined;
  private atomic: AtomicStateStore<KafkaAtomicHandle> | undefined;
  private readonly admin: Admin;
  /** Undefined when the event lacks a field of the template (and no `missing_field` is set). */
  private readonly topicOf: (e: CallEvent) => string | undefined;
  private readonly keyOf: (e: CallEvent) => string | undefined;
  private readonly headerOf: [string, (e: CallEvent) => string][];
  private readonly staticTopic: string | undefined;
  private readonly known = new Set<string>();
  private readonly registry: RegistryEncoder | undefined;
  private connected = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly c: KafkaSinkConfig,
    private readonly ctx: ComponentContext,
  ) {
    const kafka = new Kafka(kafkaClientConfig(c, ctx));
    this.ownsCheckpoints = c.exactly_once;
    this.producer = c.exactly_once
      ? undefined
      : createProducer(c.driver, { kafka, connection: c }, { idempotent: c.idempotent, maxInFlight: c.max_in_flight, acks: c.acks === 'all' ? -1 : c.acks, compression: c.compression, requestTimeoutMs: c.request_timeout });
    this.admin = kafka.admin();
    this.topicOf = c.missing_field === undefined ? compileStrictTemplate(c.topic) : compileTemplate(c.topic, c.missing_field);
    this.keyOf = c.missing_field === undefined ? compileStrictTemplate(c.key) : compileTemplate(c.key, c.missing_field);
    this.headerOf = Object.entries(c.headers).map(([k, t]) => [k, compileTemplate(t)]);
    this.staticTopic = /\{\{/.test(c.topic) ? undefined : c.topic;
    this.registry = c.encoding !== 'json' && c.schema_registry ? new RegistryEncoder(c.encoding, c.schema_registry, c.client_id) : undefined;
  }

  async start(): Promise<void> {
    if (this.c.exactly_once) this.atomic = this.checkAtomicState();
    try {
      this.connected = true;
      await this.admin.connect();
      await this.producer?.connect();
    } catch (err) {
      throw unreachable(this.c.brokers, err, { topic: this.staticTopic ?? this.c.topic, topicOperations: ['Describe', 'Write'] });
    }
    if (this.staticTopic) {
      await this.ensureTopics([this.staticTopic]);
      await this.registry?.prepare(this.staticTopic);
    }
  }

  /** The pipeline's state store, if this sink can commit atomically through it (checked again here for stores an embedder passed in). */
  private checkAtomicState(): AtomicStateStore<KafkaAtomicHandle> {
    const store = this.ctx.atomicState;
    const problems = kafkaAtomicProblems(this.c, store?.atomicTarget) ?? [];
    // No problems: the store's target is kafka, whose handle is a Kafka transaction.
    if (store && problems.length === 0 && commitsInKafkaTransactions(store)) return store;
    const p = problems[0]!;
    throw new ConfigError(p.code, `sink ${this.ctx.id}: ${p.message}`, { fields: { component: this.ctx.id, key: p.key } });
  }

  /** Creates missing topics when `create_topics` is set; otherwise a missing topic is an error that says what to do. */
  private async ensureTopics(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.known.has(t));
    if (missing.length === 0) return;
    const existing = new Set(await this.admin.listTopics());
    const absent = missing.filter((t) => !existing.has(t));
    if (absent.length && !this.c.create_topics) {
      throw new PipelineError('KAFKA_TOPIC_MISSING', `topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')} do${absent.length > 1 ? '' : 'es'} not exist: create ${absent.length > 1 ? 'them' : 'it'}, or set create_topics on sink ${this.ctx.id}${UNSEEN_TOPIC_HINT}`, { retriable: false, fields: { topics: absent } });
    }
    if (absent.length) {
      const ct = this.c.create_topics!;
      try {
        await createTopicsRacing(
          this.admin,
          { waitForLeaders: true, topics: absent.map((topic) => ({ topic, numPartitions: ct.partitions, replicationFactor: ct.replication, configEntries: [{ name: 'cleanup.policy', value: ct.cleanup_policy }] })) },
          this.ctx.signal,
          this.ctx.clock,
        );
      } catch (err) {
        // kafkajs reports what each topic failed with in nested errors; those Kafka calls permanent end here.
        const permanent = permanentTopicErrorType(err);
        throw new PipelineError('KAFKA_TOPIC_CREATE_FAILED', `cannot create topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')}${permanent ? ` (${permanent})` : ''}: ${(err as Error).message}${aclHint(err, { topic: absent.join(', '), topicOperations: ['Create', 'Describe', 'Write'] })}`, { cause: err, retriable: permanent === undefined, fields: { topics: absent } });
      }
      this.ctx.logger.info({ topics: absent }, 'created Kafka topics');
    }
    for (const t of missing) this.known.add(t);
  }

  /** The records of a batch by topic, and the events that cannot be sent (too large, or not fitting the schema). */
  async encode(events: readonly CallEvent[], traceparent?: string): Promise<{ requests: Requests; dead: DeadLetter[]; bytes: number }> {
    const requests = new Requests();
    const dead: DeadLetter[] = [];
    let bytes = 0;
    for (const e of events) {
      const topic = this.topicOf(e);
      const key = this.keyOf(e);
      if (topic === undefined || key === undefined) {
        dead.push({ code: 'KAFKA_TEMPLATE_FIELD_MISSING', reason: `the event lacks a field of the ${topic === undefined ? `topic template "${this.c.topic}"` : `key template "${this.c.key}"`}: give it the field, or set missing_field`, record: e });
        continue;
      }
      if (this.staticTopic === undefined && !isValidTopicName(topic)) {
        dead.push({ code: 'KAFKA_TOPIC_INVALID', reason: `rendered topic "${topic.slice(0, 300)}" is not a Kafka topic name (1–249 of a-z A-Z 0-9 . _ -)`, record: e, context: { topic: topic.slice(0, 300) } });
        continue;
      }
      let value: string | Buffer;
      if (this.registry) {
        const prepared = this.registry.readyFor(topic) ?? (await this.registry.prepare(topic));
        try {
          value = prepared.encode(e);
        } catch (err) {
          dead.push({ code: 'KAFKA_ENCODING_FAILED', reason: `event does not fit the ${this.c.encoding} schema: ${(err as Error).message}`, record: e, context: { key, topic } });
          continue;
        }
      } else {
        try {
          value = eventJsonLine(e, true);
        } catch (err) {
          dead.push(unwritableAsJson(e, err, 'KAFKA_ENCODING_FAILED', { key, topic }));
          continue;
        }
      }
      const headers: Record<string, string> = { source: e.source, kind: e.kind, schema_version: String(EVENT_SCHEMA_VERSION) };
      for (const [k, f] of this.headerOf) headers[k] = f(e);
      // The write's trace: downstream consumers continue it (W3C Trace Context).
      if (traceparent) headers.traceparent = traceparent;
      let size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
      size += Buffer.byteLength(key);
      for (const [k, v] of Object.entries(headers)) size += k.length + Buffer.byteLength(v);
      if (size > this.c.max_record_bytes) {
        dead.push({ code: 'KAFKA_RECORD_TOO_LARGE', reason: `record of ${size} bytes exceeds max_record_bytes (${this.c.max_record_bytes})`, record: e, context: { key } });
        continue;
      }
      bytes += size;
      requests.add(topic, { key, value, headers }, size);
    }
    return { requests, dead, bytes };
  }

  async write(batch: SinkBatch): Promise<{ dead?: DeadLetter[] }> {
    const { requests, dead, bytes } = await this.encode(batch.events, batch.traceparent);
    if (this.c.exactly_once) return this.writeTransaction(batch, requests, dead, bytes);
    if (requests.topics.size === 0) return { dead };
    await this.ensureTopics([...requests.topics]);
    try {
      for (const topicMessages of requests.topicMessages()) {
        await this.producer!.send(topicMessages);
      }
    } catch (err) {
      const permanent = permanentType(err);
      throw new PipelineError('KAFKA_PRODUCE_FAILED', `Kafka did not take a batch${permanent ? ` (${permanent})` : ''}: ${(err as Error).message}${aclHint(err, { topic: [...requests.topics].join(', '), topicOperations: ['Describe', 'Write'] })}`, { cause: err, retriable: permanent === undefined });
    }
    this.ctx.telemetry.bytesOut(bytes);
    return dead.length ? { dead } : {};
  }

  /** Events, the checkpoints after them and the operator state staged on them, in one transaction of the state store's producer. */
  private async writeTransaction(batch: SinkBatch, requests: Requests, dead: DeadLetter[], bytes: number): Promise<{ dead?: DeadLetter[] }> {
    if (requests.topics.size) await this.ensureTopics([...requests.topics]);
    await this.atomic!.commitAtomically(batch.commit?.writes ?? [], async (handle) => {
      try {
        for (const topicMessages of requests.topicMessages()) {
          await handle.send(topicMessages, { compression: this.c.compression, timeoutMs: this.c.request_timeout });
        }
      } catch (err) {
        // Transient failures (and fencing) are the store's to classify; these no retry changes.
        const permanent = refusedInTransaction(err);
        if (permanent === undefined) throw err;
        throw new PipelineError('KAFKA_TRANSACTION_FAILED', `Kafka refused a batch's records (${permanent}): ${(err as Error).message}${aclHint(err, { topic: [...requests.topics].join(', '), topicOperations: ['Describe', 'Write'] })}`, { cause: err, retriable: false, fields: { component: this.ctx.id } });
      }
    });
    this.ctx.telemetry.bytesOut(bytes);
    return dead.length ? { dead } : {};
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      if (!this.connected) return;
      await this.producer?.disconnect().catch(() => {});
      await this.admin.disconnect().catch(() => {});
    })());
  }
}

/**
 * Whether `store` commits in Kafka transactions: its target kind is `kafka`, whose handle is the
 * open transaction (KafkaAtomicHandle), as the Kafka state store hands it.
 */
function commitsInKafkaTransactions(store: AtomicStateStore): store is AtomicStateStore<KafkaAtomicHandle> {
  return store.atomicTarget.kind === 'kafka';
}

/**
 * `kafka`: writes events to Apache Kafka.
 *
 * ```yaml
 * sinks:
 *   kafka:
 *     type: kafka
 *     inputs: [unique]
 *     brokers: ["127.0.0.1:9092"]
 *     topic: "calls.{{kind}}"
 *     key: "{{id}}"
 *     create_topics: { partitions: 3, replication: 1 }
 * ```
 */
/**
 * Why `c` cannot commit atomically through a state store at `target`; undefined when `c` is not
 * exactly-once. The records go through the state store's producer, so the store must be Kafka,
 * on the brokers the sink names.
 */
export function kafkaAtomicProblems(c: KafkaSinkConfig, target: AtomicTarget | undefined): AtomicProblem[] | undefined {
  if (!c.exactly_once) return undefined;
  if (target?.kind !== 'kafka') {
    return [{ code: 'CONFIG_EXACTLY_ONCE_STATE', key: 'exactly_once', message: 'exactly_once needs `state: { type: kafka }` on the same brokers: records, checkpoints and operator state commit in one Kafka transaction of the state store. Set the pipeline\'s state to kafka, or remove exactly_once' }];
  }
  const problems: AtomicProblem[] = [];
  const same = (a: readonly string[], b: readonly string[]) => [...new Set(a)].sort().join(',') === [...new Set(b)].sort().join(',');
  if (!same(c.brokers, target.endpoints)) {
    problems.push({ code: 'CONFIG_EXACTLY_ONCE_CLUSTER', key: 'brokers', message: `exactly_once writes through the state store's transaction, so brokers must be the state store's (${target.endpoints.join(', ')}): list the same brokers, or remove exactly_once` });
  }
  const storeDriver = target.client ?? DEFAULT_KAFKA_DRIVER;
  if (c.driver !== storeDriver) {
    problems.push({ code: 'CONFIG_EXACTLY_ONCE_DRIVER', key: 'driver', message: `exactly_once writes through the state store's producer, which uses driver ${storeDriver}: set the same driver on the sink and on state` });
  } else if (c.driver === 'confluent' && c.compression !== 'none') {
    problems.push({ code: 'CONFIG_EXACTLY_ONCE_DRIVER', key: 'compression', message: 'with driver confluent, compression is a setting of the whole producer, and exactly_once records go through the state store\'s producer, which does not compress: set compression: none, or use driver kafkajs' });
  }
  if (c.state_topic !== undefined && c.state_topic !== target.topic) {
    problems.push({ code: 'CONFIG_EXACTLY_ONCE_STATE_TOPIC', key: 'state_topic', message: `state_topic "${c.state_topic}" is not the state store's topic ("${target.topic}"): remove state_topic (the store's topic is used), or make them equal` });
  }
  return problems;
}

/** `kafka`: writes events to Kafka topics (JSON, Avro or JSON Schema values), exactly-once through the Kafka state store when asked. */
export const kafkaSink = defineSink({
  type: 'kafka',
  description: 'Writes events to Apache Kafka (kafkajs, or librdkafka with driver: confluent): templated topics and keys, acks=all, idempotent, ordered per key.',
  configSchema: kafkaSinkConfigSchema,
  atomicProblems: kafkaAtomicProblems,
  preflight: kafkaConnectionProblems,
  async create(config, ctx) {
    const sink = new KafkaSink(config, ctx);
    try {
      await sink.start();
    } catch (err) {
      await sink.close();
      throw err;
    }
    return sink;
  },
});
