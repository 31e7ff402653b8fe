import { defineStateStore, StateError, z, type JsonValue, type Logger, type StateStore } from '@plumline/core';
import kafkajs from 'kafkajs';
import { IDEMPOTENT_RETRY, kafkaClientConfig } from './kafka-sink.js';
import { kafkaSaslSchema, kafkaSslSchema } from './kafka-sink-config.js';

/** Largest chunk of a log per record: under the broker's default message.max.bytes. */
const CHUNK_BYTES = 512 * 1024;
/** When loading, stop waiting for more records after this long without any. */
const LOAD_IDLE_MS = 1500;

export const kafkaStateConfigSchema = z.strictObject({
  brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1).describe('Bootstrap brokers.'),
  topic: z.string().min(1).default('plumline-state').describe('Compacted topic holding checkpoints and operator state of every pipeline (keyed by pipeline id).'),
  client_id: z.string().min(1).default('plumline-state').describe('Kafka client id.'),
  create_topic: z.boolean().default(true).describe('Create the topic (1 partition, cleanup.policy=compact) when missing.'),
  replication: z.int().min(1).default(1).describe('Replication factor when creating the topic.'),
  ssl: kafkaSslSchema,
  sasl: kafkaSaslSchema,
});
export type KafkaStateConfig = z.output<typeof kafkaStateConfigSchema>;

function isFenced(err: unknown): boolean {
  for (let e = err as { type?: string; name?: string; cause?: unknown; originalError?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (e.type === 'INVALID_PRODUCER_EPOCH' || e.type === 'PRODUCER_FENCED' || e.type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' || e.name === 'KafkaJSNonRetriableError' && /fenced|epoch/i.test(String((e as Error).message))) return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}

/**
 * State on a compacted Kafka topic, so that a pipeline worker that dies can be replaced by one
 * on another machine that resumes from the same checkpoint. Every write is a Kafka transaction of
 * a producer whose transactional id is the pipeline's: when a second worker opens the same
 * pipeline, Kafka fences the first, whose next write fails with STATE_FENCED — the later one wins.
 * Keys are `{pipeline}/{key}`; logs are stored as numbered chunks (`{pipeline}/{key}#{n}`).
 */
export class KafkaStateStore implements StateStore {
  private readonly kafka: kafkajs.Kafka;
  private readonly producer: kafkajs.Producer;
  private readonly values = new Map<string, JsonValue>();
  private readonly logs = new Map<string, Buffer[]>();
  private chain: Promise<unknown> = Promise.resolve();
  private fenced: StateError | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly c: KafkaStateConfig,
    private readonly pipelineId: string,
    private readonly logger: Logger,
  ) {
    this.kafka = new kafkajs.Kafka(kafkaClientConfig({ brokers: c.brokers, client_id: c.client_id, ssl: c.ssl, sasl: c.sasl }, { logger }));
    this.producer = this.kafka.producer({ transactionalId: `plumline-${pipelineId}`, idempotent: true, maxInFlightRequests: 1, retry: IDEMPOTENT_RETRY });
  }

  private prefix(): string {
    return `${this.pipelineId}/`;
  }

  async open(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.c.topic)) {
        if (!this.c.create_topic) throw new StateError('STATE_TOPIC_MISSING', `state topic ${this.c.topic} does not exist: create it (cleanup.policy=compact) or set create_topic`, { retriable: false });
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic: this.c.topic, numPartitions: 1, replicationFactor: this.c.replication, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
      }
      await this.producer.connect();
      // Claim the pipeline: initialising the transactional id fences any earlier worker.
      const tx = await this.producer.transaction();
      await tx.abort();
      const high = (await admin.fetchTopicOffsets(this.c.topic)).reduce((n, p) => n + Number(p.high), 0);
      if (high > 0) await this.load();
    } finally {
      await admin.disconnect();
    }
    this.logger.info({ topic: this.c.topic, pipeline: this.pipelineId, keys: this.values.size, logs: this.logs.size }, 'state loaded from Kafka');
  }

  /** Reads the whole topic (read-committed) and keeps this pipeline's latest values. */
  private async load(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `plumline-state-load-${this.pipelineId}-${process.pid}-${Date.now()}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic: this.c.topic, fromBeginning: true });
    const prefix = this.prefix();
    const chunks = new Map<string, Map<number, Buffer | null>>();
    let last = Date.now();
    await consumer.run({
      eachMessage: async ({ message }) => {
        last = Date.now();
        const key = message.key?.toString() ?? '';
        if (!key.startsWith(prefix)) return;
        const k = key.slice(prefix.length);
        const hash = k.lastIndexOf('#');
        if (hash > 0 && /^#\d+$/.test(k.slice(hash))) {
          const log = k.slice(0, hash);
          const m = chunks.get(log) ?? new Map<number, Buffer | null>();
          m.set(Number(k.slice(hash + 1)), message.value);
          chunks.set(log, m);
        } else if (message.value === null) this.values.delete(k);
        else this.values.set(k, JSON.parse(message.value.toString()) as JsonValue);
      },
    });
    while (Date.now() - last < LOAD_IDLE_MS) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    for (const [log, m] of chunks) {
      const parts = [...m].filter(([, v]) => v !== null).sort((a, b) => a[0] - b[0]).map(([, v]) => v!);
      if (parts.length) this.logs.set(log, parts);
    }
  }

  /** Runs one transaction after the previous one (writes are ordered), mapping fencing to STATE_FENCED. */
  private transact(messages: kafkajs.Message[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.fenced) throw this.fenced;
      const tx = await this.producer.transaction();
      try {
        // One request per large record: the broker's size limit applies to a whole record batch.
        const small: kafkajs.Message[] = [];
        for (const m of messages) {
          if (m.value instanceof Buffer && m.value.length > 64 * 1024) await tx.send({ topic: this.c.topic, messages: [m], acks: -1 });
          else small.push(m);
        }
        if (small.length) await tx.send({ topic: this.c.topic, messages: small, acks: -1 });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => {});
        if (isFenced(err)) {
          this.fenced = new StateError('STATE_FENCED', `another worker took over pipeline "${this.pipelineId}" (same id on state topic ${this.c.topic}); this one stops without writing`, { retriable: false, cause: err });
          throw this.fenced;
        }
        throw new StateError('STATE_WRITE_FAILED', `cannot write state to Kafka: ${(err as Error).message}`, { cause: err });
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => {});
    return next;
  }

  async get(key: string): Promise<JsonValue | undefined> {
    return this.values.get(key);
  }

  async set(key: string, value: JsonValue): Promise<void> {
    await this.transact([{ key: this.prefix() + key, value: JSON.stringify(value) }]);
    this.values.set(key, value);
  }

  private chunkMessages(key: string, from: number, data: Uint8Array): kafkajs.Message[] {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: kafkajs.Message[] = [];
    for (let off = 0, n = from; off < buf.length; off += CHUNK_BYTES, n++) out.push({ key: `${this.prefix()}${key}#${n}`, value: Buffer.from(buf.subarray(off, off + CHUNK_BYTES)) });
    return out;
  }

  async append(key: string, data: Uint8Array): Promise<void> {
    const parts = this.logs.get(key) ?? [];
    await this.transact(this.chunkMessages(key, parts.length, data));
    for (let off = 0; off < data.byteLength; off += CHUNK_BYTES) parts.push(Buffer.from(data.subarray(off, off + CHUNK_BYTES)));
    this.logs.set(key, parts);
  }

  async readLog(key: string): Promise<Uint8Array> {
    return Buffer.concat(this.logs.get(key) ?? []);
  }

  async rewriteLog(key: string, data: Uint8Array): Promise<void> {
    const old = this.logs.get(key)?.length ?? 0;
    const fresh = this.chunkMessages(key, 0, data);
    const tombstones: kafkajs.Message[] = [];
    for (let n = fresh.length; n < old; n++) tombstones.push({ key: `${this.prefix()}${key}#${n}`, value: null });
    await this.transact([...fresh, ...tombstones]);
    this.logs.set(key, fresh.map((m) => m.value as Buffer));
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      await this.chain;
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
  description: 'Keeps checkpoints and operator state on a compacted Kafka topic; workers of one pipeline fence each other.',
  configSchema: kafkaStateConfigSchema,
  create(config, ctx) {
    return new KafkaStateStore(config, ctx.pipelineId, ctx.logger);
  },
});
