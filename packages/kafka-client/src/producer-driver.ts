import { createRequire } from 'node:module';
import { PipelineError, z } from '@plumline/core';
import kafkajs from './kafkajs-client.js';
import type { KafkaConnection } from './kafka-connection.js';

/** The client libraries that can drive a component's producer (`driver:` on the sink and the state store). */
export const KAFKA_DRIVERS = ['kafkajs', 'confluent'] as const;
/** The client library that drives a component's producer: kafkajs, or confluent (librdkafka through @confluentinc/kafka-javascript). */
export type KafkaDriver = (typeof KAFKA_DRIVERS)[number];
/** The driver a component uses when its config names none. */
export const DEFAULT_KAFKA_DRIVER: KafkaDriver = 'kafkajs';
/** The package of the `confluent` driver: an optional dependency with a native build. */
export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';

/** The `driver` key of the sink and the state store (one schema, so both read alike). */
export const kafkaDriverSchema = z
  .enum(KAFKA_DRIVERS)
  .default(DEFAULT_KAFKA_DRIVER)
  .describe(
    `Client library of the producer: kafkajs (default, pure JavaScript), or confluent (${CONFLUENT_PACKAGE}, librdkafka: about 1.3× the sink's throughput here, with about 40% less producer CPU; a native module you install beside plumline). Consumers and admin calls use kafkajs either way.`,
  );

/**
 * Idempotent and transactional producers retry without limit, as kafkajs intends: giving up and
 * resending from outside would start a new sequence and could duplicate. A broker that stays down
 * therefore stalls the pipeline (it slows instead of dropping) until it returns or the pipeline stops.
 */
export const IDEMPOTENT_RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 };

/** The records of one produce request, by topic (kafkajs's `topicMessages`). */
export type TopicMessages = { topic: string; messages: kafkajs.Message[] }[];

/** How a component's producer behaves; each driver maps it to its library's settings. */
export interface ProducerOptions {
  idempotent: boolean;
  maxInFlight: number;
  /** -1 is all. */
  acks: -1 | 0 | 1;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  requestTimeoutMs?: number;
  /** Makes the producer transactional. */
  transactionalId?: string;
  transactionTimeoutMs?: number;
}

/** Settings of one request that differ from the producer's (kafkajs takes them per request; librdkafka only per producer). */
export interface RequestSettings {
  compression?: ProducerOptions['compression'];
  timeoutMs?: number;
}

/** One open transaction of a transactional producer. */
export interface KafkaTransaction {
  /**
   * Called any number of times before `commit`; resolves once the brokers hold the records
   * (uncommitted). `settings` apply with kafkajs; the confluent driver keeps its producer's.
   */
  send(request: TopicMessages, settings?: RequestSettings): Promise<void>;
  /** Called once, after the last `send`: resolves when the transaction is committed; rejects when it is not known to be. */
  commit(): Promise<void>;
  /** Called once instead of `commit`, or after a failed `commit`. */
  abort(): Promise<void>;
}

/**
 * What the Kafka state store hands an exactly-once sink in `commitAtomically` (the handle of an
 * AtomicStateStore whose target kind is `kafka`): the open transaction, to send records in. The
 * store alone commits or aborts it.
 */
export type KafkaAtomicHandle = Pick<KafkaTransaction, 'send'>;

/** What the sink and the state store need of a producer, whichever library drives it. */
export interface KafkaProducer {
  /** Called once before any other call; a transactional producer also initialises its transactional id here or at its first transaction. */
  connect(): Promise<void>;
  /** Sends one request's records; resolves once acknowledged as `acks` asks. Not on a transactional producer. */
  send(request: TopicMessages): Promise<void>;
  /** Begins a transaction (transactional producers only); one at a time. */
  transaction(): Promise<KafkaTransaction>;
  /** Called once; flushes nothing (every send was awaited) and releases the connections. */
  disconnect(): Promise<void>;
}

/**
 * A producer through `driver`: with kafkajs, of the component's own kafkajs client (the one its
 * admin calls use); with confluent, a librdkafka client of the same connection settings.
 */
export function createProducer(driver: KafkaDriver, client: { kafka: kafkajs.Kafka; connection: KafkaConnection }, options: ProducerOptions): KafkaProducer {
  return driver === 'confluent' ? new ConfluentProducer(client.connection, options) : new KafkajsProducer(client.kafka, options);
}

const { CompressionTypes } = kafkajs;
const KAFKAJS_COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;

/** kafkajs: acks, timeout and compression go with each request. */
class KafkajsProducer implements KafkaProducer {
  private readonly producer: kafkajs.Producer;
  private readonly perRequest: { acks: number; timeout?: number; compression: kafkajs.CompressionTypes };

  constructor(kafka: kafkajs.Kafka, o: ProducerOptions) {
    // The partitioner kafkajs 2 uses by default (the Java client's murmur2): named so it does not warn.
    this.producer = kafka.producer({
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      idempotent: o.idempotent,
      maxInFlightRequests: o.maxInFlight,
      allowAutoTopicCreation: false,
      ...(o.transactionalId ? { transactionalId: o.transactionalId, transactionTimeout: o.transactionTimeoutMs } : {}),
      ...(o.idempotent ? { retry: IDEMPOTENT_RETRY } : {}),
    });
    this.perRequest = { acks: o.acks, timeout: o.requestTimeoutMs, compression: KAFKAJS_COMPRESSION[o.compression] };
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(topicMessages: TopicMessages): Promise<void> {
    await this.producer.sendBatch({ topicMessages, ...this.perRequest });
  }

  async transaction(): Promise<KafkaTransaction> {
    const tx = await this.producer.transaction();
    return {
      send: async (topicMessages, settings) => {
        const { compression, timeoutMs } = settings ?? {};
        await tx.sendBatch({ topicMessages, ...this.perRequest, ...(compression ? { compression: KAFKAJS_COMPRESSION[compression] } : {}), ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) });
      },
      commit: () => tx.commit(),
      abort: () => tx.abort(),
    };
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** The slice of @confluentinc/kafka-javascript's KafkaJS-compatible API used here. */
interface ConfluentModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => { producer(config: Record<string, unknown>): ConfluentClient } };
}
interface ConfluentClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(args: { topicMessages: TopicMessages }): Promise<unknown>;
  /** Resolves with the producer itself: a producer has at most one transaction. */
  transaction(): Promise<ConfluentClient>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

let confluentModule: ConfluentModule | undefined;

/** Loads the confluent driver's package once. */
function loadConfluent(): ConfluentModule {
  return (confluentModule ??= loadDriverPackage(CONFLUENT_PACKAGE) as ConfluentModule);
}

/** Loads a driver's package, or says what to do when it is missing or not built for this Node (KAFKA_DRIVER_UNAVAILABLE). */
export function loadDriverPackage(name: string): unknown {
  try {
    return createRequire(import.meta.url)(name);
  } catch (err) {
    throw new PipelineError('KAFKA_DRIVER_UNAVAILABLE', `driver: confluent needs ${name}, which cannot be loaded here (${(err as Error)?.message?.split('\n')[0] ?? String(err)}): install it beside plumline (npm install ${name}; where no prebuilt binary downloads, it builds from source), or use driver: kafkajs`, {
      cause: err,
      retriable: false,
      fields: { package: name },
    });
  }
}

/** Whether the confluent driver can be loaded here (tests that need it skip otherwise). */
export function confluentDriverAvailable(): boolean {
  try {
    loadConfluent();
    return true;
  } catch {
    return false;
  }
}

/**
 * Longest librdkafka waits between attempts to reach a broker it lost. Its default (10 s) grows
 * to that during an outage, so the producer noticed a returning broker up to 10 s late (7.2 s
 * and 8.3 s after a 30 s stop in two CI runs, against 0.9 s for kafkajs).
 */
const CONFLUENT_RECONNECT_BACKOFF_MAX_MS = 1_000;

/**
 * @confluentinc/kafka-javascript (librdkafka): acks, timeout and compression are the producer's
 * (librdkafka refuses them per request); TLS files and verification are librdkafka properties.
 * librdkafka initialises the transactional id at connect.
 */
class ConfluentProducer implements KafkaProducer {
  private readonly producer: ConfluentClient;

  constructor(c: KafkaConnection, o: ProducerOptions) {
    const { KafkaJS } = loadConfluent();
    const tls = typeof c.ssl === 'object' ? c.ssl : undefined;
    const kafka = new KafkaJS.Kafka({
      kafkaJS: {
        clientId: c.client_id,
        brokers: c.brokers,
        ssl: c.ssl !== undefined && c.ssl !== false,
        ...(c.sasl ? { sasl: { mechanism: c.sasl.mechanism, username: c.sasl.username, password: c.sasl.password } } : {}),
        // librdkafka's own log lines would go to stdout: errors reach us as rejections instead.
        logLevel: 0,
      },
      ...(tls?.ca ? { 'ssl.ca.location': tls.ca } : {}),
      ...(tls?.cert ? { 'ssl.certificate.location': tls.cert } : {}),
      ...(tls?.key ? { 'ssl.key.location': tls.key } : {}),
      ...(tls && !tls.reject_unauthorized ? { 'enable.ssl.certificate.verification': false } : {}),
      'reconnect.backoff.max.ms': CONFLUENT_RECONNECT_BACKOFF_MAX_MS,
    });
    this.producer = kafka.producer({
      kafkaJS: {
        idempotent: o.idempotent,
        maxInFlightRequests: o.maxInFlight,
        allowAutoTopicCreation: false,
        acks: o.acks,
        compression: o.compression,
        ...(o.requestTimeoutMs === undefined ? {} : { timeout: o.requestTimeoutMs }),
        ...(o.transactionalId ? { transactionalId: o.transactionalId, transactionTimeout: o.transactionTimeoutMs } : {}),
      },
      // As IDEMPOTENT_RETRY for kafkajs: an idempotent producer retries until the broker takes
      // the records (librdkafka bounds a transactional one by its transaction timeout itself).
      ...(o.idempotent && !o.transactionalId ? { 'message.timeout.ms': 0, retries: 2_147_483_647 } : {}),
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(topicMessages: TopicMessages): Promise<void> {
    await this.producer.sendBatch({ topicMessages });
  }

  async transaction(): Promise<KafkaTransaction> {
    const tx = await this.producer.transaction();
    return {
      send: async (topicMessages) => void (await tx.sendBatch({ topicMessages })),
      commit: () => commitRetrying(tx),
      abort: () => tx.abort(),
    };
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/**
 * librdkafka's commit gives up after 5 s with an error it marks retriable (a coordinator moving,
 * a broker restarting) while the commit may still complete. As its documentation asks, the
 * commit is called again, for as long as the error stays retriable (as kafkajs retries its
 * commit without limit): an abort and a resend instead could write the records twice.
 */
async function commitRetrying(tx: ConfluentClient): Promise<void> {
  for (;;) {
    try {
      return await tx.commit();
    } catch (err) {
      const e = err as { retriable?: boolean; abortable?: boolean; fatal?: boolean };
      if (!e.retriable || e.abortable || e.fatal) throw err;
    }
  }
}
