import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filterAbortedMessages, readCommittedFilterInPlace } from './read-committed-filter.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
interface Fetched {
  offset: string;
  key: Buffer;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
const data = (offset: number, producerId: string, inTransaction = true): Fetched => ({ offset: String(offset), key: Buffer.from('k'), isControlRecord: false, batchContext: { producerId, inTransaction } });
const marker = (offset: number, producerId: string, key: Buffer): Fetched => ({ offset: String(offset), key, isControlRecord: true, batchContext: { producerId, inTransaction: true } });
const kept = (messages: Fetched[], abortedTransactions: { producerId: string; firstOffset: string }[]) =>
  filterAbortedMessages({ messages, abortedTransactions })
    .filter((m) => !m.isControlRecord)
    .map((m) => Number(m.offset));

describe('read_committed filter', () => {
  it('skips every aborted transaction from its first offset to its abort marker, whatever order the broker lists them in', () => {
    // Producer 1 began first (0) and aborted last (5); producer 2 began at 1 and aborted at 3.
    // The broker lists them by where they ended: 2, then 1.
    const messages = [data(0, '1'), data(1, '2'), data(2, '1'), marker(3, '2', ABORT), data(4, '3', false), marker(5, '1', ABORT), data(6, '1')];
    expect(kept(messages, [{ producerId: '2', firstOffset: '1' }, { producerId: '1', firstOffset: '0' }])).toEqual([4, 6]);
  });

  it('keeps the records a producer commits after its abort marker, when the fetch began after several aborted transactions had started', () => {
    // Fetched from 10: producers 1, 2 and 3 each began a transaction before it that aborts;
    // producer 3's abort marker is at 11, and its next transaction (13) commits.
    const messages = [data(10, '9'), marker(11, '3', ABORT), data(12, '4'), data(13, '3'), marker(14, '1', ABORT), marker(15, '2', ABORT)];
    const aborted = [{ producerId: '1', firstOffset: '5' }, { producerId: '2', firstOffset: '8' }, { producerId: '3', firstOffset: '9' }];
    expect(kept(messages, aborted)).toEqual([10, 12, 13]);
  });

  it('is what kafkajs uses once this package loaded it', async () => {
    await import('./kafkajs-client.js');
    expect(readCommittedFilterInPlace()).toBe(true);
  });

  it('a Kafka state store in a process that loaded kafkajs first refuses to read (KAFKA_READ_COMMITTED_UNSAFE)', () => {
    // The built package, in a process of its own: this one loaded the corrected filter first.
    const script = `import 'kafkajs';
const { KafkaStateStore, kafkaStateConfigSchema } = await import('@plumline/kafka-client');
const { createLogger } = await import('@plumline/core');
const store = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers: ['127.0.0.1:1'], topic: 't' }), 'p', createLogger({ level: 'silent' }));
try { await store.open(); console.log('opened'); } catch (err) { console.log(err.code); }`;
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' }).trim()).toBe('KAFKA_READ_COMMITTED_UNSAFE');
  });
});
