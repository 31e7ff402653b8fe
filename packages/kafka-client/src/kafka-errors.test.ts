import { describe, expect, it } from 'vitest';
import { aclHint, isFenced, LoggedRefusals, notAuthorized, permanentType, refusedInTransaction } from './kafka-errors.js';

/**
 * How each Kafka error is read, as kafkajs names it (`X`) and as librdkafka does (`ERR_X`, its own
 * errors `ERR__X`): fenced (the state store stops with STATE_FENCED), permanent (a plain produce or
 * a topic creation fails without retrying), and refused in a transaction (the sink fails the batch
 * with KAFKA_TRANSACTION_FAILED instead of leaving the error to the store).
 */
const TABLE: [name: string, fenced: boolean, permanent: boolean, refusedInTransaction: boolean][] = [
  ['INVALID_PRODUCER_EPOCH', true, true, false],
  ['PRODUCER_FENCED', true, true, false],
  ['_FENCED', true, true, false],
  // An ACL missing, not another worker: permanent, never fenced (STATE_FENCED hands the pipeline over and relaunches).
  ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', false, true, true],
  ['GROUP_AUTHORIZATION_FAILED', false, true, true],
  ['CLUSTER_AUTHORIZATION_FAILED', false, true, true],
  ['MESSAGE_TOO_LARGE', false, true, true],
  ['_MSG_SIZE_TOO_LARGE', false, true, true],
  ['TOPIC_AUTHORIZATION_FAILED', false, true, true],
  ['INVALID_CONFIG', false, true, true],
  ['SASL_AUTHENTICATION_FAILED', false, true, true],
  ['LEADER_NOT_AVAILABLE', false, false, false],
  ['REQUEST_TIMED_OUT', false, false, false],
  ['CONCURRENT_TRANSACTIONS', false, false, false],
  ['NOT_COORDINATOR', false, false, false],
];

const spellings = (name: string): string[] => [name, `ERR_${name}`].filter((s) => !s.startsWith('_'));
/** `err` as thrown, and wrapped once and twice (kafkajs's `originalError`, a `cause`). */
const wrapped = (err: object): object[] => [err, { name: 'KafkaJSError', message: 'wrapped', originalError: err }, new Error('outer', { cause: { name: 'KafkaJSError', message: 'wrapped', originalError: err } })];

describe('Kafka errors: fenced, permanent, refused in a transaction', () => {
  it.each(TABLE)('%s: fenced %s, permanent %s, refused in a transaction %s', (name, fenced, permanent, refused) => {
    for (const type of spellings(name)) {
      for (const err of wrapped({ name: 'KafkaJSProtocolError', message: type, type })) {
        expect(isFenced(err), type).toBe(fenced);
        expect(permanentType(err), type).toBe(permanent ? name : undefined);
        expect(refusedInTransaction(err), type).toBe(refused ? name : undefined);
      }
    }
  });

  it('an authorization failure is told as the ACL to grant, the principal\'s resources named; other errors are not authorization failures', () => {
    const where = { transactionalId: 'plumline-calls', topic: 'plumline-state', groupPrefix: 'plumline-state-load-' };
    // As kafkajs throws it from initProducerId: its retrier wraps the protocol error (cause).
    const protocol = { name: 'KafkaJSProtocolError', message: 'Transactional Id authorization failed', type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', code: 53, retriable: false };
    const txid = notAuthorized({ name: 'KafkaJSNonRetriableError', message: protocol.message, retriable: false, cause: protocol }, where);
    expect(txid?.type).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    expect(txid?.acl).toMatch(/Write and Describe on TransactionalId "plumline-calls"/);
    expect(txid?.acl).toContain('--transactional-id plumline-calls');
    expect(notAuthorized({ type: 'ERR_TOPIC_AUTHORIZATION_FAILED' }, where)?.acl).toMatch(/Describe, Read and Write on topic "plumline-state"/);
    expect(notAuthorized({ type: 'GROUP_AUTHORIZATION_FAILED' }, where)?.acl).toMatch(/Read on consumer groups prefixed "plumline-state-load-".*--resource-pattern-type prefixed/);
    expect(notAuthorized({ type: 'CLUSTER_AUTHORIZATION_FAILED' }, where)?.acl).toMatch(/IdempotentWrite on the cluster/);
    for (const other of ['PRODUCER_FENCED', 'SASL_AUTHENTICATION_FAILED', 'LEADER_NOT_AVAILABLE']) expect(notAuthorized({ type: other }, where), other).toBeUndefined();
    expect(notAuthorized(new Error('Transactional Id authorization failed'), where)).toBeUndefined();
  });

  it("a sink's and a source's refusals name their own operations and group", () => {
    const refused = (type: string) => ({ name: 'KafkaJSNonRetriableError', message: 'x', cause: { name: 'KafkaJSProtocolError', type, retriable: false } });
    expect(aclHint(refused('TOPIC_AUTHORIZATION_FAILED'), { topic: 'calls.raw', topicOperations: ['Describe', 'Write'] })).toBe(
      "; an ACL is missing: grant this client's principal Describe and Write on topic \"calls.raw\" (and Create, for a topic it is to create) (kafka-acls.sh --bootstrap-server … --add --allow-principal User:<principal> --operation Describe --operation Write --topic calls.raw)",
    );
    expect(aclHint(refused('GROUP_AUTHORIZATION_FAILED'), { group: 'plumline-process' })).toContain('Read on consumer group "plumline-process" (kafka-acls.sh --bootstrap-server … --add --allow-principal User:<principal> --operation Read --group plumline-process)');
    expect(aclHint(refused('LEADER_NOT_AVAILABLE'), { topic: 'calls.raw' })).toBe('');
    // A topic creation's refusals, per topic as kafkajs nests them.
    const creation = { name: 'KafkaJSAggregateError', message: 'Topic creation errors', errors: [{ name: 'KafkaJSCreateTopicError', topicName: 'calls.raw', type: 'TOPIC_AUTHORIZATION_FAILED' }] };
    expect(aclHint(creation, { topic: 'calls.raw', topicOperations: ['Create', 'Describe', 'Write'] })).toContain('Create, Describe and Write on topic "calls.raw" (kafka-acls.sh');
  });

  it('kafkajs saying a transaction failed on a fenced or old epoch is fenced; other non-retriable errors are not', () => {
    expect(isFenced({ name: 'KafkaJSNonRetriableError', message: 'Producer was fenced by a newer instance' })).toBe(true);
    expect(isFenced({ name: 'KafkaJSNonRetriableError', message: 'Invalid producer epoch' })).toBe(true);
    expect(isFenced({ name: 'KafkaJSNonRetriableError', message: 'Topic authorization failed' })).toBe(false);
    expect(isFenced({ name: 'Error', message: 'fenced' })).toBe(false);
    expect([isFenced(undefined), isFenced(new Error('x')), permanentType(undefined), refusedInTransaction(new Error('x'))]).toEqual([false, false, undefined, undefined]);
  });

  it('a refused transactional id that kafkajs only logs (it throws "Failed to find group coordinator", no cause) is read from the log', () => {
    // As kafkajs 2.2.4 does against a broker with ACLs (seen with StandardAuthorizer, Kafka 4.3.1):
    // FindCoordinator is refused, kafkajs logs the response's error and throws a bare KafkaJSGroupCoordinatorNotFound.
    const thrown = { name: 'KafkaJSGroupCoordinatorNotFound', message: 'Failed to find group coordinator', retriable: true };
    const refusals = new LoggedRefusals();
    expect(notAuthorized(refusals.explain(thrown), {})).toBeUndefined();
    refusals.seen({ broker: '127.0.0.1:19507', clientId: 'plumline-state', error: 'Transactional Id authorization failed', correlationId: 5, size: 60 });
    expect(notAuthorized(refusals.explain(thrown), { transactionalId: 'plumline-p9' })?.acl).toContain('Write and Describe on TransactionalId "plumline-p9"');
    // Only a coordinator not found is explained so, and only by a refusal logged since the last clear.
    refusals.seen({ error: 'Transactional Id authorization failed' });
    expect(notAuthorized(refusals.explain({ name: 'KafkaJSConnectionError', message: 'Connection timeout' }), {})).toBeUndefined();
    refusals.clear();
    expect(notAuthorized(refusals.explain(thrown), {})).toBeUndefined();
    refusals.seen({ error: 'The coordinator is not available' });
    expect(notAuthorized(refusals.explain(thrown), {})).toBeUndefined();
  });
});
