import { EVENT_SCHEMA_VERSION, type CallEvent } from '@plumline/core';

/** The Avro record name (and RecordNameStrategy subject) of a plumline event. */
export const EVENT_RECORD_NAME = 'io.plumline.CallEvent';

const optional = (name: string, type: string, doc: string) => ({ name, type: ['null', type], default: null, doc });

/**
 * CallEvent as Avro. `attributes` and `raw` are source-specific and free-form, so they travel
 * as JSON text; every other field is typed. Adding fields with defaults keeps it BACKWARD compatible.
 */
export const EVENT_AVRO_SCHEMA = {
  type: 'record',
  name: 'CallEvent',
  namespace: 'io.plumline',
  doc: `A normalized plumline call-log event (event schema version ${EVENT_SCHEMA_VERSION}).`,
  fields: [
    { name: 'id', type: 'string', doc: 'Stable, unique id.' },
    { name: 'source', type: 'string', doc: 'plum, iplum, or a custom source.' },
    { name: 'kind', type: 'string', doc: 'call, session, error, text, recording, …' },
    { name: 'time', type: 'string', doc: 'ISO-8601 UTC start.' },
    optional('endTime', 'string', 'ISO-8601 UTC end.'),
    optional('direction', 'string', 'inbound or outbound.'),
    optional('from', 'string', 'Calling party as the source gave it.'),
    optional('to', 'string', 'Called party as the source gave it.'),
    optional('durationSec', 'double', 'Duration in seconds.'),
    { name: 'attributes', type: 'string', doc: 'Source-specific fields, as JSON text.' },
    optional('raw', 'string', 'The record as received, as JSON text.'),
  ],
} as const;

/** CallEvent as JSON Schema (draft-07), for the `json_schema` encoding. */
export const EVENT_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'CallEvent',
  description: `A normalized plumline call-log event (event schema version ${EVENT_SCHEMA_VERSION}).`,
  type: 'object',
  required: ['id', 'source', 'kind', 'time', 'attributes'],
  properties: {
    id: { type: 'string' },
    source: { type: 'string' },
    kind: { type: 'string' },
    time: { type: 'string' },
    endTime: { type: 'string' },
    direction: { type: 'string', enum: ['inbound', 'outbound'] },
    from: { type: 'string' },
    to: { type: 'string' },
    durationSec: { type: 'number' },
    attributes: { type: 'object' },
    raw: {},
  },
} as const;

/** The Avro datum of an event (absent optionals as null, free-form parts as JSON text). */
export function toAvroRecord(e: CallEvent): Record<string, unknown> {
  return {
    id: e.id,
    source: e.source,
    kind: e.kind,
    time: e.time,
    endTime: e.endTime ?? null,
    direction: e.direction ?? null,
    from: e.from ?? null,
    to: e.to ?? null,
    durationSec: e.durationSec ?? null,
    attributes: JSON.stringify(e.attributes ?? {}),
    raw: e.raw === undefined ? null : JSON.stringify(e.raw),
  };
}

/** The inverse of {@link toAvroRecord}, for consumers (and tests) that want the event back. */
export function fromAvroRecord(r: Record<string, unknown>): CallEvent {
  const e: CallEvent = { id: r.id as string, source: r.source as string, kind: r.kind as string, time: r.time as string, attributes: JSON.parse(r.attributes as string) as Record<string, unknown> };
  // The optional fields as Avro gave them (null: absent); the Avro schema fixes their types.
  const fields: Record<string, unknown> = e;
  for (const k of ['endTime', 'direction', 'from', 'to', 'durationSec'] as const) if (r[k] !== null && r[k] !== undefined) fields[k] = r[k];
  if (r.raw !== null && r.raw !== undefined) e.raw = JSON.parse(r.raw as string);
  return e;
}
