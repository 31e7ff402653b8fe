import { PipelineError, type CallEvent, type DeadLetter } from '@plumline/core';
import { eventShapeProblem } from '@plumline/core/util';
import { fromAvroRecord } from '@plumline/kafka-client';
import { registryClient, type kafkajs, type RegistryClient } from '@plumline/kafka-client/support';
import type { KafkaSourceConfig } from './kafka-source-config.js';

/** Where a record sits, for dead letters and messages. */
export interface RecordLocation {
  topic: string;
  partition: number;
  offset: string;
}

/** What a dead letter keeps of an undecodable record: its location, key and value (as text when it is UTF-8, else base64). */
function recordOf(at: RecordLocation, m: kafkajs.KafkaMessage): Record<string, unknown> {
  const text = (b: Buffer | null | undefined) => {
    if (!b) return null;
    const s = b.toString('utf8');
    return Buffer.from(s, 'utf8').equals(b) ? s : { base64: b.toString('base64') };
  };
  return { ...at, key: text(m.key), value: text(m.value) };
}

/** A decoded record: its event, or why it is not one. */
export type Decoded = { event: CallEvent } | { dead: DeadLetter };

function dead(at: RecordLocation, m: kafkajs.KafkaMessage, code: string, reason: string): Decoded {
  return { dead: { code, reason: `${at.topic}/${at.partition}@${at.offset}: ${reason}`, record: recordOf(at, m) } };
}

function checked(at: RecordLocation, m: kafkajs.KafkaMessage, value: unknown): Decoded {
  const problem = eventShapeProblem(value);
  return problem === undefined ? { event: value as CallEvent } : dead(at, m, 'KAFKA_RECORD_INVALID', `not a CallEvent: ${problem}`);
}

/**
 * Turns a record value back into a CallEvent: JSON as the kafka sink writes it, or Avro / JSON
 * Schema in Confluent's wire format through the schema registry. A record that is not a
 * CallEvent becomes a dead letter with its topic, partition and offset; a registry that cannot
 * be reached is an error (retried by kafkajs's consumer restart, never a dead letter).
 */
export class RecordDecoder {
  private registry: Promise<RegistryClient['registry']> | undefined;

  constructor(private readonly c: Pick<KafkaSourceConfig, 'encoding' | 'schema_registry' | 'client_id'>) {}

  /** The record's event, or its dead letter. Synchronous for JSON (the common case: no promise per record). */
  decode(at: RecordLocation, m: kafkajs.KafkaMessage): Decoded | Promise<Decoded> {
    if (!m.value) return dead(at, m, 'KAFKA_RECORD_UNDECODABLE', 'the record has no value (a tombstone)');
    if (this.c.encoding !== 'json') return this.decodeRegistered(at, m, m.value);
    let value: unknown;
    try {
      value = JSON.parse(m.value.toString('utf8'));
    } catch (err) {
      return dead(at, m, 'KAFKA_RECORD_UNDECODABLE', `the value is not JSON: ${(err as Error).message}`);
    }
    return checked(at, m, value);
  }

  private async decodeRegistered(at: RecordLocation, m: kafkajs.KafkaMessage, value: Buffer): Promise<Decoded> {
    let decoded: unknown;
    try {
      decoded = await this.fromRegistry(value);
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      return dead(at, m, 'KAFKA_RECORD_UNDECODABLE', `the value is not ${this.c.encoding} in Confluent's wire format: ${(err as Error).message}`);
    }
    return checked(at, m, decoded);
  }

  private async fromRegistry(value: Buffer): Promise<unknown> {
    if (value.length < 5 || value[0] !== 0) throw new Error('no Confluent wire-format header (magic byte 0 and a schema id)');
    const registry = await this.client();
    let decoded: unknown;
    try {
      decoded = await registry.decode(value);
    } catch (err) {
      const { status, code } = err as { status?: number; code?: string };
      // A registry that is down or busy is no reason to drop a record (an unknown schema id is).
      const unavailable = status === undefined ? typeof code === 'string' : status >= 500 || status === 429 || status === 408;
      if (unavailable) throw new PipelineError('KAFKA_SCHEMA_REGISTRY_FAILED', `schema registry could not be asked for a record's schema: ${(err as Error).message}`, { cause: err, retriable: true });
      throw err;
    }
    return this.c.encoding === 'avro' ? fromAvroRecord(decoded as Record<string, unknown>) : decoded;
  }

  private client(): Promise<RegistryClient['registry']> {
    return (this.registry ??= registryClient(this.c.schema_registry!, this.c.client_id).then((c) => c.registry));
  }
}
