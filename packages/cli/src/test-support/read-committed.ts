import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Kafka's own jars, as scripts/kafka.sh fetched them for the test broker. */
const KAFKA_LIB = `${ROOT}.kafka/${process.env.KAFKA_VERSION ?? '4.3.1'}/lib/*`;

export interface CommittedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/**
 * Reads `topics` to their end with Apache's own Java consumer (scripts/kafka/ReadCommitted.java,
 * isolation.level=read_committed): a reader that shares no code with plumline or kafkajs.
 */
export function readCommitted(brokers: readonly string[], topics: readonly string[]): Promise<CommittedRecord[]> {
  return new Promise((resolve, reject) => {
    execFile('java', ['-cp', KAFKA_LIB, `${ROOT}scripts/kafka/ReadCommitted.java`, brokers.join(','), topics.join(',')], { maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`ReadCommitted failed: ${err.message}\n${stderr}`));
        return;
      }
      const out: CommittedRecord[] = [];
      for (const line of stdout.split('\n')) {
        if (!line) continue;
        const [topic, partition, offset, key, ...value] = line.split('\t');
        out.push({ topic: topic!, partition: Number(partition), offset: Number(offset), key: key!, value: value.join('\t') });
      }
      resolve(out);
    });
  });
}
