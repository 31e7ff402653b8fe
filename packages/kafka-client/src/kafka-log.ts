import type { Logger } from '@plumline/core';
import type { LoggedRefusals } from './kafka-errors.js';
import kafkajs from './kafkajs-client.js';

const { logLevel } = kafkajs;

/**
 * kafkajs messages that say nothing a user must act on: the coordinator still finishing the
 * transaction of a worker that was killed (kafkajs retries it; every restart after a kill meets
 * it), the notice about the default partitioner that changed in kafkajs 2.0 (we pick it
 * explicitly), and start-up chatter kafkajs retries by itself — a group or transaction
 * coordinator not available or still loading (a broker creating `__consumer_offsets` on a
 * group's first use), a partition without a leader during an election. They go to debug; what
 * retrying does not fix reaches the component as an error.
 */
const ROUTINE = new RegExp(
  [
    'CONCURRENT_TRANSACTIONS', 'concurrent transactions', 'default partitioner', 'KAFKAJS_NO_PARTITIONER_WARNING',
    'coordinator is not available', 'COORDINATOR_NOT_AVAILABLE', 'coordinator is loading', 'COORDINATOR_LOAD_IN_PROGRESS', 'not the correct coordinator', 'NOT_COORDINATOR',
    'no leader for this topic-partition', 'LEADER_NOT_AVAILABLE',
    // kafkajs's own line after a consumer crash it restarts from: the source logs the crash with its cause (unless routine).
    'Restarting the consumer in',
  ].join('|'),
  'i',
);

/** Whether `error` (or a kafkajs log message) is start-up chatter that kafkajs retries by itself (see ROUTINE). */
export function isRoutine(error: unknown): boolean {
  const e = error as { message?: unknown; type?: unknown } | undefined;
  return ROUTINE.test(String(e?.message ?? error)) || ROUTINE.test(String(e?.type ?? ''));
}

/**
 * Routes kafkajs's logs into the component's pino logger (errors as warnings: kafkajs retries them
 * itself), and each entry to `refusals` (see LoggedRefusals: what kafkajs logs and does not throw).
 */
export function kafkaLogCreator(logger: Logger, refusals?: LoggedRefusals): kafkajs.logCreator {
  return () => ({ level, log }) => {
    const { message, ...rest } = log;
    refusals?.seen(rest);
    const routine = ROUTINE.test(message) || ROUTINE.test(String((rest as { error?: unknown }).error ?? ''));
    if ((level === logLevel.ERROR || level === logLevel.WARN) && !routine) logger.warn({ kafka: rest }, `kafkajs: ${message}`);
    else if (level !== logLevel.DEBUG && level !== logLevel.NOTHING) logger.debug({ kafka: rest }, `kafkajs: ${message}`);
  };
}
