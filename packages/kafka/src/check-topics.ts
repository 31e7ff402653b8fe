import { PipelineError } from '@plumline/core';
import type kafkajs from 'kafkajs';

/**
 * Refuses topics that do not exist (KAFKA_TOPIC_MISSING), since a group would wait for them for
 * ever, and a cluster it cannot reach (KAFKA_CONNECT_FAILED). `sourceId` names the source in the error.
 */
export async function checkTopics(admin: kafkajs.Admin, topics: readonly string[], brokers: readonly string[], sourceId: string): Promise<void> {
  try {
    const existing = new Set(await admin.listTopics());
    const absent = topics.filter((t) => !existing.has(t));
    if (absent.length) {
      throw new PipelineError('KAFKA_TOPIC_MISSING', `topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')} of source ${sourceId} do${absent.length > 1 ? '' : 'es'} not exist: create ${absent.length > 1 ? 'them' : 'it'} first`, { retriable: false, fields: { topics: absent } });
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

function unreachable(brokers: readonly string[], err: unknown): PipelineError {
  return new PipelineError('KAFKA_CONNECT_FAILED', `cannot reach Kafka at ${brokers.join(', ')}: ${(err as Error).message}`, { cause: err, retriable: false });
}
