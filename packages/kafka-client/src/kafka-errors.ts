// Kafka's error names, without librdkafka's ERR_ prefix (its own errors keep one underscore: _FENCED).
// Every list of error names the Kafka packages (client, source, sink) read is here: fenced, not authorized, permanent.

/** Being fenced: a newer producer with our transactional id took over. No retry changes it. */
const FENCED = ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', '_FENCED'];
/**
 * Kafka refusing this client's principal a resource: an ACL is missing. No retry changes it, and
 * it is never fencing (TRANSACTIONAL_ID_AUTHORIZATION_FAILED was once read so: a worker without
 * the ACL was told another worker had taken over, and a task copy was relaunched for ever).
 */
const NOT_AUTHORIZED = ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED'];
/** Broker answers that no retry will change: the batch (or the start) fails with the reason. */
const PERMANENT = new Set([...FENCED, ...NOT_AUTHORIZED, 'INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR', 'POLICY_VIOLATION', 'INVALID_CONFIG', 'SASL_AUTHENTICATION_FAILED', 'INVALID_TOPIC_EXCEPTION', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_REQUIRED_ACKS', 'MSG_SIZE_TOO_LARGE', '_MSG_SIZE_TOO_LARGE', '_AUTHENTICATION', 'TOPIC_EXCEPTION']);

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
    if (e.type !== undefined && FENCED.includes(kafkaName(e.type))) return true;
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

/** The resources a client uses, to name in what to grant when Kafka refuses one. */
export interface KafkaResources {
  transactionalId?: string;
  /** The topic (or topics, comma-separated) the client uses, and what it does there. */
  topic?: string;
  /** Default: Describe, Read and Write (the state store's). */
  topicOperations?: readonly ('Create' | 'Describe' | 'Read' | 'Write')[];
  /** A consumer group's id. */
  group?: string;
  /** Its consumer groups' common prefix (their ids end in something new per use). */
  groupPrefix?: string;
}

/** What to grant for each refusal, as the words to read and the `kafka-acls.sh` arguments that do it. */
const GRANTS: Record<string, (r: KafkaResources) => [what: string, args: string]> = {
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: (r) => [`Write and Describe on TransactionalId ${JSON.stringify(r.transactionalId ?? '…')}`, `--operation Write --operation Describe --transactional-id ${r.transactionalId ?? '<id>'}`],
  TOPIC_AUTHORIZATION_FAILED: (r) => {
    const ops = r.topicOperations ?? ['Describe', 'Read', 'Write'];
    const said = `${ops.slice(0, -1).join(', ')}${ops.length > 1 ? ' and ' : ''}${ops[ops.length - 1]!}`;
    return [`${said} on topic ${JSON.stringify(r.topic ?? '…')}${ops.includes('Create') ? '' : ' (and Create, for a topic it is to create)'}`, `${ops.map((o) => `--operation ${o}`).join(' ')} --topic ${r.topic ?? '<topic>'}`];
  },
  GROUP_AUTHORIZATION_FAILED: (r) =>
    r.group === undefined
      ? [`Read on consumer groups prefixed ${JSON.stringify(r.groupPrefix ?? '…')}`, `--operation Read --resource-pattern-type prefixed --group ${r.groupPrefix ?? '<prefix>'}`]
      : [`Read on consumer group ${JSON.stringify(r.group)}`, `--operation Read --group ${r.group}`],
  CLUSTER_AUTHORIZATION_FAILED: (r) => [`IdempotentWrite on the cluster, or Write on the topics it writes${r.topic ? ` (${JSON.stringify(r.topic)})` : ''}: an idempotent producer needs one of them (brokers before 2.8, the first); Create on the cluster lets it create topics`, '--operation IdempotentWrite --cluster'],
};

/**
 * When Kafka refused this client's principal a resource (`err` or an error it wraps), the refusal
 * and the ACL that is missing, naming the resource of `resources` it concerns; undefined for any
 * other error. Read before fencing: a refused transactional id is not another worker.
 */
export function notAuthorized(err: unknown, resources: KafkaResources): { type: string; acl: string } | undefined {
  // kafkajs reports a failed topic creation's refusals per topic, in `errors`.
  const nested = ((err as { errors?: unknown[] } | undefined)?.errors ?? []).flatMap((e) => [...chain(e)]);
  for (const e of [...chain(err), ...nested]) {
    const type = e.type === undefined ? undefined : kafkaName(e.type);
    if (type === undefined || !NOT_AUTHORIZED.includes(type)) continue;
    const [what, args] = GRANTS[type]!(resources);
    return { type, acl: `grant this client's principal ${what} (kafka-acls.sh --bootstrap-server … --add --allow-principal User:<principal> ${args})` };
  }
  return undefined;
}

/** `; an ACL is missing: grant …` when Kafka refused this client's principal (see {@link notAuthorized}); '' for any other error. */
export function aclHint(err: unknown, resources: KafkaResources): string {
  const denied = notAuthorized(err, resources);
  return denied ? `; an ACL is missing: ${denied.acl}` : '';
}

/** kafkajs's messages for the refusals (its protocol/error.js), by Kafka's name. */
const REFUSAL_MESSAGES = new Map([
  ['Transactional Id authorization failed', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
  ['Not authorized to access group: Group authorization failed', 'GROUP_AUTHORIZATION_FAILED'],
  ['Not authorized to access topics: [Topic authorization failed]', 'TOPIC_AUTHORIZATION_FAILED'],
  ['Cluster authorization failed', 'CLUSTER_AUTHORIZATION_FAILED'],
]);

/**
 * The refusal kafkajs logged but did not throw. kafkajs 2.2.4 looks a transaction coordinator up
 * through every broker and drops what each answered: a refused transactional id (FindCoordinator
 * answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED) is thrown as a bare KafkaJSGroupCoordinatorNotFound,
 * "Failed to find group coordinator", which reads as an outage and was retried for ever. Only its
 * log line (an `error` field with the refusal's message) tells. A client's log lines go through
 * {@link seen}; {@link explain} gives that error the refusal as its cause.
 */
export class LoggedRefusals {
  private last: string | undefined;

  /** Takes one kafkajs log entry's fields. */
  seen(logged: Readonly<Record<string, unknown>>): void {
    const type = typeof logged.error === 'string' ? REFUSAL_MESSAGES.get(logged.error) : undefined;
    if (type) this.last = type;
  }

  /** Forgets what was seen: call before an operation whose errors {@link explain} is to read. */
  clear(): void {
    this.last = undefined;
  }

  /** `err`, or, when it is a coordinator not found after a refusal was logged, an error with the refusal's type and `err` as its cause. */
  explain(err: unknown): unknown {
    if (this.last === undefined || (err as { name?: unknown } | undefined)?.name !== 'KafkaJSGroupCoordinatorNotFound') return err;
    return Object.assign(new Error(`${(err as Error).message} (kafkajs logged ${this.last})`, { cause: err }), { type: this.last });
  }
}

/**
 * Said with a topic found missing: Kafka lists only the topics the principal may Describe, so a
 * topic it may not see reads as one that does not exist (seen against a broker with ACLs).
 */
export const UNSEEN_TOPIC_HINT = "; if it does exist, this client's principal may not Describe it (Kafka lists only the topics a principal may Describe): grant Describe on it";
