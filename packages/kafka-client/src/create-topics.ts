import { backoffDelayMs, systemClock, type BackoffPolicy, type Clock } from '@plumline/core/util';
import type kafkajs from 'kafkajs';
import { permanentTopicErrorType } from './kafka-errors.js';

/** Attempts at creating topics before a retriable failure is given up on. */
export const CREATE_TOPICS_ATTEMPTS = 8;
const CREATE_TOPICS_BACKOFF: BackoffPolicy = { initialDelayMs: 200, maxDelayMs: 2_000, multiplier: 2 };

/**
 * `admin.createTopics`, tried again when it fails for a reason that may pass. Workers started
 * together (three processing workers, one sink topic) create the same topic at the same moment:
 * the losers get "This server does not host this topic-partition" while its leaders are elected,
 * and a second try finds it there (createTopics then does nothing). Failures no retry changes
 * (permanentTopicErrorType: a policy, an authorization) are thrown at once, the last attempt's too.
 */
export async function createTopicsRacing(admin: kafkajs.Admin, options: Parameters<kafkajs.Admin['createTopics']>[0], signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics(options);
      return;
    } catch (err) {
      if (permanentTopicErrorType(err) !== undefined || attempt + 1 >= CREATE_TOPICS_ATTEMPTS || signal?.aborted) throw err;
      await clock.sleep(backoffDelayMs(attempt + 1, CREATE_TOPICS_BACKOFF), signal).catch(() => {});
    }
  }
}
