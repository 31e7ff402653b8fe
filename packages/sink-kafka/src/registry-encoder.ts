import { PipelineError, type CallEvent } from '@plumline/core';
import { EVENT_AVRO_SCHEMA, EVENT_JSON_SCHEMA, EVENT_RECORD_NAME, toAvroRecord } from '@plumline/kafka-client';
import { registryClient, type RegistryClient } from '@plumline/kafka-client/support';
import type { KafkaSinkConfig } from './kafka-sink-config.js';

type RegistryConfig = NonNullable<KafkaSinkConfig['schema_registry']>;
interface Prepared {
  /** The record value of an event; throws (with the reason) when the event does not fit the schema. */
  encode(e: CallEvent): Buffer;
}

/** Confluent's wire format: magic byte 0, the schema id as a big-endian uint32, then the payload. */
function wireHeader(id: number): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return h;
}

/**
 * Encodes events as Avro or JSON Schema in Confluent's wire format. The event schema is
 * registered once per subject (subject naming as Confluent's strategies); after that, encoding
 * is synchronous. A registry that cannot be reached is retriable; a schema the registry refuses
 * (409 incompatible, 422 invalid) is not.
 */
export class RegistryEncoder {
  /** The client library (avsc, ajv, protobufjs: ≈ 18 MB) loads only when a registry encoding is used. */
  private connecting: Promise<RegistryClient> | undefined;
  private readonly bySubject = new Map<string, Promise<Prepared>>();
  private readonly ready = new Map<string, Prepared>();

  constructor(
    private readonly encoding: 'avro' | 'json_schema',
    private readonly c: RegistryConfig,
    private readonly clientId: string,
  ) {}

  private client() {
    return (this.connecting ??= registryClient(this.c, this.clientId));
  }

  subjectOf(topic: string): string {
    if (this.c.subject_strategy === 'record_name') return EVENT_RECORD_NAME;
    if (this.c.subject_strategy === 'topic_record_name') return `${topic}-${EVENT_RECORD_NAME}`;
    return `${topic}-value`;
  }

  /** The encoder for a topic when its schema is registered already, without waiting. */
  readyFor(topic: string): Prepared | undefined {
    return this.ready.get(this.subjectOf(topic));
  }

  /** Registers the event schema under the topic's subject (once) and returns its encoder. */
  prepare(topic: string): Promise<Prepared> {
    const subject = this.subjectOf(topic);
    let p = this.bySubject.get(subject);
    if (!p) {
      p = this.register(subject).then(
        (prepared) => {
          this.ready.set(subject, prepared);
          return prepared;
        },
        (err: unknown) => {
          this.bySubject.delete(subject);
          throw err;
        },
      );
      this.bySubject.set(subject, p);
    }
    return p;
  }

  private async register(subject: string): Promise<Prepared> {
    const { lib, registry } = await this.client();
    const opts = { subject, compatibility: lib.COMPATIBILITY[this.c.compatibility] };
    let id: number;
    try {
      ({ id } =
        this.encoding === 'avro'
          ? await registry.register({ type: lib.SchemaType.AVRO, schema: JSON.stringify(EVENT_AVRO_SCHEMA) }, opts)
          : await registry.register({ type: lib.SchemaType.JSON, schema: JSON.stringify(EVENT_JSON_SCHEMA) }, opts));
    } catch (err) {
      const status = (err as { status?: number }).status;
      const refused = status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 408;
      throw new PipelineError('KAFKA_SCHEMA_REGISTRY_FAILED', `schema registry did not register the event schema under subject ${subject}${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}`, {
        cause: err,
        retriable: !refused,
        fields: { subject, ...(status ? { status } : {}) },
      });
    }
    const schema = await registry.getSchema(id);
    const header = wireHeader(id);
    const payloadOf = this.encoding === 'avro' ? toAvroRecord : (e: CallEvent): object => e;
    return {
      encode(e) {
        const body = schema.toBuffer(payloadOf(e));
        return Buffer.concat([header, body], header.length + body.length);
      },
    };
  }
}
