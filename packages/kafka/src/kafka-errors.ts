/** Broker answers that no retry will change: the batch (or the start) fails with the reason. */
const PERMANENT = new Set(['INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR', 'POLICY_VIOLATION', 'INVALID_CONFIG', 'INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED', 'INVALID_TOPIC_EXCEPTION', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_REQUIRED_ACKS', 'MSG_SIZE_TOO_LARGE', '_MSG_SIZE_TOO_LARGE', '_FENCED', '_AUTHENTICATION', 'TOPIC_EXCEPTION']);

/** A Kafka error type by Kafka's name: librdkafka (the confluent driver) prefixes broker errors with ERR_ and its own with ERR__. */
const kafkaName = (type: string): string => (type.startsWith('ERR_') ? type.slice(4) : type);

/**
 * The Kafka error type of `err` (or of an error it wraps) when no retry changes it; undefined for
 * everything else (leaders moving, brokers restarting, timeouts), which is retried.
 */
export function permanentType(err: unknown): string | undefined {
  for (let e = err as { type?: string; cause?: unknown; originalError?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (e.type && PERMANENT.has(kafkaName(e.type))) return kafkaName(e.type);
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return undefined;
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
