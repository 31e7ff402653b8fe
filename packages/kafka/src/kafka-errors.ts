// Kafka's error names, without librdkafka's ERR_ prefix (its own errors keep one underscore: _FENCED).
// Every list of error names the Kafka package reads is here.

/** Being fenced: a newer producer with our transactional id took over. No retry changes it. */
const FENCED = ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', '_FENCED'];
/**
 * What the state store also reads as fenced (STATE_FENCED), although a plain produce does not
 * count it permanent. It has read it so since it was written; see kafka-errors.test.ts.
 */
const FENCED_TO_THE_STORE = new Set([...FENCED, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);
/** Broker answers that no retry will change: the batch (or the start) fails with the reason. */
const PERMANENT = new Set([...FENCED, 'INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR', 'POLICY_VIOLATION', 'INVALID_CONFIG', 'TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED', 'INVALID_TOPIC_EXCEPTION', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_REQUIRED_ACKS', 'MSG_SIZE_TOO_LARGE', '_MSG_SIZE_TOO_LARGE', '_AUTHENTICATION', 'TOPIC_EXCEPTION']);

/** A Kafka error type by Kafka's name: librdkafka (the confluent driver) prefixes broker errors with ERR_ and its own with ERR__. */
const kafkaName = (type: string): string => (type.startsWith('ERR_') ? type.slice(4) : type);

type KafkaErrorLike = { type?: string; name?: string; message?: unknown; cause?: unknown; originalError?: unknown } | undefined;

/** `err` and the errors it wraps (kafkajs's `originalError`, a `cause`), five deep at most. */
function* chain(err: unknown): Generator<NonNullable<KafkaErrorLike>> {
  for (let e = err as KafkaErrorLike, i = 0; e && i < 5; i++) {
    yield e;
    e = (e.cause ?? e.originalError) as KafkaErrorLike;
  }
}

/** True when Kafka says another producer with our transactional id took over (the state store's STATE_FENCED). */
export function isFenced(err: unknown): boolean {
  for (const e of chain(err)) {
    if (e.type !== undefined && FENCED_TO_THE_STORE.has(kafkaName(e.type))) return true;
    if (e.name === 'KafkaJSNonRetriableError' && /fenced|epoch/i.test(String(e.message))) return true;
  }
  return false;
}

/**
 * The Kafka error type of `err` (or of an error it wraps) when no retry changes it; undefined for
 * everything else (leaders moving, brokers restarting, timeouts), which is retried.
 */
export function permanentType(err: unknown): string | undefined {
  for (const e of chain(err)) if (e.type && PERMANENT.has(kafkaName(e.type))) return kafkaName(e.type);
  return undefined;
}

/**
 * The Kafka error type of a failed send inside a transaction when no retry changes it and it is
 * not fencing: the batch fails with it. Undefined for fencing and transient errors, which are
 * the state store's to classify (it aborts, and fences or retries).
 */
export function refusedInTransaction(err: unknown): string | undefined {
  const permanent = permanentType(err);
  return permanent === undefined || FENCED.includes(permanent) ? undefined : permanent;
}

/** Like {@link permanentType}, also looking into kafkajs's per-topic errors of a failed topic creation. */
export function permanentTopicErrorType(err: unknown): string | undefined {
  const own = permanentType(err);
  if (own) return own;
  for (const e of (err as { errors?: unknown[] } | undefined)?.errors ?? []) {
    const t = permanentType(e);
    if (t) return t;
  }
  return undefined;
}
