import { PipelineError } from '@plumline/core';
import type kafkajs from 'kafkajs';
import { notAuthorized, UNSEEN_TOPIC_HINT, type KafkaResources } from './kafka-errors.js';

/** What Kafka takes as a topic name: 1–249 of [a-zA-Z0-9._-], and not "." or "..". */
export function isValidTopicName(name: string): boolean {
  return /^[a-zA-Z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..';
}

/**
 * Refuses topics that do not exist (KAFKA_TOPIC_MISSING), since a group would wait for them for
 * ever, and a cluster it cannot reach (KAFKA_CONNECT_FAILED). `sourceId` names the source in the error.
 */
export async function checkTopics(admin: kafkajs.Admin, topics: readonly string[], brokers: readonly string[], sourceId: string): Promise<void> {
  try {
    const existing = new Set(await admin.listTopics());
    const absent = topics.filter((t) => !existing.has(t));
    if (absent.length) {
      throw new PipelineError('KAFKA_TOPIC_MISSING', `topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')} of source ${sourceId} do${absent.length > 1 ? '' : 'es'} not exist: create ${absent.length > 1 ? 'them' : 'it'} first${UNSEEN_TOPIC_HINT}`, { retriable: false, fields: { topics: absent } });
    }
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    throw unreachable(brokers, err);
  }
}

/** Connects a kafkajs client (admin, consumer), or fails with KAFKA_CONNECT_FAILED naming the brokers. */
export async function connectOrFail<C extends { connect(): Promise<void> }>(client: C, brokers: readonly string[]): Promise<C> {
  try {
    await client.connect();
    return client;
  } catch (err) {
    throw unreachable(brokers, err);
  }
}

/**
 * KAFKA_NOT_AUTHORIZED when the brokers refused this client's principal (naming the ACL, for the
 * client's `resources`); otherwise KAFKA_CONNECT_FAILED for `brokers`, saying what to do where the cause is known: a KRaft
 * controller listener answers a client's first request with UNSUPPORTED_VERSION ("The Kafka
 * server does not support the requested API version"), which reads like a version mismatch.
 */
export function unreachable(brokers: readonly string[], err: unknown, resources: KafkaResources = {}): PipelineError {
  // Reached, and refused: the answer is an ACL, not the network.
  const denied = notAuthorized(err, resources);
  if (denied) return new PipelineError('KAFKA_NOT_AUTHORIZED', `Kafka at ${brokers.join(', ')} refused this client (${denied.type}), an ACL is missing: ${denied.acl}`, { cause: err, retriable: false, fields: { kafkaError: denied.type } });
  const e = err as { message?: string; type?: string };
  const message = e?.message ?? String(err);
  const controller = e?.type === 'UNSUPPORTED_VERSION' || /does not support the requested API version/i.test(message);
  const hint = controller
    ? ` — ${brokers.length > 1 ? 'one of them' : 'it'} is likely a KRaft controller listener, not a broker's: point brokers at the broker listener (plaintext 9092 by default; scripts/kafka.sh: KAFKA_PORT), not the controller's (9093 by default; scripts/kafka.sh: KAFKA_PORT+1)`
    : '';
  return new PipelineError('KAFKA_CONNECT_FAILED', `cannot reach Kafka at ${brokers.join(', ')}: ${message}${hint}`, { cause: err, retriable: false });
}
