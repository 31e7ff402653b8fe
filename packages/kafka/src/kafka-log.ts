import type { Logger } from '@plumline/core';
import kafkajs from './kafkajs-client.js';

const { logLevel } = kafkajs;

/**
 * kafkajs messages that say nothing a user must act on: the coordinator still finishing the
 * transaction of a worker that was killed (kafkajs retries it; every restart after a kill meets
 * it), and the notice about the default partitioner that changed in kafkajs 2.0 (we pick it
 * explicitly). They go to debug.
 */
const ROUTINE = /CONCURRENT_TRANSACTIONS|concurrent transactions|default partitioner|KAFKAJS_NO_PARTITIONER_WARNING/i;

/** Routes kafkajs's logs into the component's pino logger (errors as warnings: kafkajs retries them itself). */
export function kafkaLogCreator(logger: Logger): kafkajs.logCreator {
  return () => ({ level, log }) => {
    const { message, ...rest } = log;
    const routine = ROUTINE.test(message) || ROUTINE.test(String((rest as { error?: unknown }).error ?? ''));
    if ((level === logLevel.ERROR || level === logLevel.WARN) && !routine) logger.warn({ kafka: rest }, `kafkajs: ${message}`);
    else if (level !== logLevel.DEBUG && level !== logLevel.NOTHING) logger.debug({ kafka: rest }, `kafkajs: ${message}`);
  };
}
