import { createRequire } from 'node:module';
import { PipelineError } from '@plumline/core';

/**
 * kafkajs 2.2.4 (its last release) filters the records of aborted transactions out of a
 * read_committed fetch wrongly when several aborted transactions overlap the fetch: it takes
 * the broker's list of aborted transactions as sorted by first offset (the broker sorts it by
 * where each transaction ended) and starts skipping at most one transaction per record. Records
 * of an aborted transaction then pass as committed, and records of a committed one that follows
 * a late-noticed abort are dropped. On a topic where several transactional producers interleave
 * and some abort (the Kafka state store's topic, shared by every task of a pipeline; any
 * exactly-once output read back), a consumer reads a state that never committed: seen in the
 * kafka-tasks test as a batch whose keys and checkpoint were read from an aborted transaction
 * (its records lost) and as keys missing from a committed one (records repeated).
 *
 * This is the consumer's filter done as Apache's Java client does it: every aborted
 * transaction whose first offset was reached is skipped until its producer's abort marker.
 * `installReadCommittedFilter` puts it in place of kafkajs's before kafkajs loads.
 */

/** A record as kafkajs's fetch decodes it (the fields the filter reads). */
interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

/** An aborted transaction as a read_committed fetch response lists it. */
interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** A control record's key: version 0, type 0 (abort) or 1 (commit). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

const isAbortMarker = (r: FetchedRecord): boolean => r.key != null && Buffer.from(r.key).equals(ABORT_MARKER_KEY);

/** The records of `messages` that are not in an aborted transaction (control records are kept: kafkajs drops them after). */
export function filterAbortedMessages({ messages, abortedTransactions }: { messages: FetchedRecord[]; abortedTransactions?: AbortedTransaction[] | null }): FetchedRecord[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions.map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) })).sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborting = new Set<string>();
  let next = 0;
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (next < pending.length && pending[next]!.firstOffset <= offset) aborting.add(pending[next++]!.producerId);
    const producerId = String(m.batchContext.producerId);
    if (m.isControlRecord) {
      if (isAbortMarker(m)) aborting.delete(producerId);
      return true;
    }
    return !(m.batchContext.inTransaction && aborting.has(producerId));
  });
}

const FILTER_MODULE = 'kafkajs/src/consumer/filterAbortedMessages.js';
const BATCH_MODULE = 'kafkajs/src/consumer/batch.js';
/** Resolves kafkajs as the rest of this package does. */
const packageRequire = createRequire(import.meta.url);

/**
 * Puts `filterAbortedMessages` in place of kafkajs's, if kafkajs's consumer has not loaded yet
 * (it keeps the function it found at load).
 */
export function installReadCommittedFilter(): void {
  try {
    if (packageRequire.cache[packageRequire.resolve(BATCH_MODULE)]) return;
    packageRequire(FILTER_MODULE);
    packageRequire.cache[packageRequire.resolve(FILTER_MODULE)]!.exports = filterAbortedMessages;
  } catch {
    // A kafkajs laid out differently: nothing replaced; the kafka source and the state store
    // then refuse to read (assertReadCommittedFilter) rather than read wrongly.
  }
}

/**
 * Whether the kafkajs this package loaded filters aborted transactions correctly: a fetch of two
 * interleaved aborted transactions, listed as the broker lists them, through kafkajs's own batch.
 */
export function readCommittedFilterInPlace(): boolean {
  let Batch: new (topic: string, fetchedOffset: string, partitionData: unknown) => { messages: FetchedRecord[] };
  try {
    Batch = packageRequire(BATCH_MODULE) as typeof Batch;
  } catch {
    return false;
  }
  const record = (offset: number, producerId: string, control = false): FetchedRecord & Record<string, unknown> => ({
    offset: String(offset),
    key: control ? ABORT_MARKER_KEY : Buffer.from('k'),
    value: Buffer.from('v'),
    headers: {},
    timestamp: '0',
    isControlRecord: control,
    batchContext: { producerId, inTransaction: true },
  });
  // Producer 1 began first and aborted last: the broker lists producer 2's transaction first.
  const batch = new Batch('t', '0', {
    partition: 0,
    highWatermark: '5',
    abortedTransactions: [
      { producerId: '2', firstOffset: '1' },
      { producerId: '1', firstOffset: '0' },
    ],
    messages: [record(0, '1'), record(1, '2'), record(2, '2', true), record(3, '1', true), record(4, '3')],
  });
  return batch.messages.map((m) => m.offset).join(',') === '4';
}

let inPlace: boolean | undefined;

/**
 * Called by each component that reads with read_committed (the kafka source, the Kafka state
 * store) before it reads: refuses to read with kafkajs's own filter (KAFKA_READ_COMMITTED_UNSAFE).
 */
export function assertReadCommittedFilter(component: string): void {
  inPlace ??= readCommittedFilterInPlace();
  if (inPlace) return;
  throw new PipelineError(
    'KAFKA_READ_COMMITTED_UNSAFE',
    `${component} cannot read Kafka safely: kafkajs was loaded before @plumline/kafka-client, so its consumer kept a read_committed filter that passes records of aborted transactions as committed. Import @plumline/kafka (or the plumline package that loads it) before anything imports kafkajs`,
    { retriable: false, fields: { component } },
  );
}
