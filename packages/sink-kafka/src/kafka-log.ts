import type { Logger } from '@plumline/core';
import kafkajs from 'kafkajs';

const { logLevel } = kafkajs;

/** Routes kafkajs's logs into the component's pino logger (errors as warnings: kafkajs retries them itself). */
export function kafkaLogCreator(logger: Logger): kafkajs.logCreator {
  return () => ({ level, log }) => {
    const { message, ...rest } = log;
    if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn({ kafka: rest }, `kafkajs: ${message}`);
    else if (level === logLevel.INFO) logger.debug({ kafka: rest }, `kafkajs: ${message}`);
  };
}
