import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { createLogger } from '@plumline/core';
import { kafkaLogCreator } from './kafka-log.js';

describe('kafkajs log lines', () => {
  it('routine retries after a kill (CONCURRENT_TRANSACTIONS) and start-up chatter (coordinator not available or loading, no leader yet) go to debug; other errors stay warnings', () => {
    const lines: { level: number; msg: string }[] = [];
    const dest = new Writable({ write(c, _e, cb) { lines.push(JSON.parse(c.toString()) as never); cb(); } });
    const log = kafkaLogCreator(createLogger({ level: 'info', destination: dest, pretty: false }))(kafkajs.logLevel.INFO);
    const entry = (level: number, message: string, error?: string) => log({ namespace: 'x', level, label: 'ERROR', log: { timestamp: '', message, ...(error ? { error } : {}) } });
    entry(kafkajs.logLevel.ERROR, 'Response AddPartitionsToTxn(key: 24, version: 1)', 'There is a newer producer with the same transactionalId which fences the current one CONCURRENT_TRANSACTIONS');
    entry(kafkajs.logLevel.WARN, 'KafkaJS v2.0.0 switched default partitioner.');
    // A consumer group's first use on a fresh broker: kafkajs retries until the coordinator is up.
    entry(kafkajs.logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available');
    entry(kafkajs.logLevel.ERROR, 'Response FindCoordinator(key: 10, version: 2)', 'The coordinator is loading and hence can\'t process requests');
    entry(kafkajs.logLevel.WARN, 'Response Metadata(key: 3, version: 6)', 'There is no leader for this topic-partition as we are in the middle of a leadership election');
    entry(kafkajs.logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:1');
    expect(lines.map((l) => l.msg)).toEqual(['kafkajs: Connection error: connect ECONNREFUSED 127.0.0.1:1']);
  });
});
